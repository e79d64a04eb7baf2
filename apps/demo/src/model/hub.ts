import { QkvError } from '@qkv/tensor';
import type { CheckpointFiles } from './hf-model.js';

/** Files a checkpoint folder may hold; the first two are required. */
const REQUIRED = ['config.json', 'model.safetensors'];
const OPTIONAL = ['tokenizer.json', 'tokenizer_config.json'];

const CACHE_NAME = 'qkv-checkpoints';

export interface DownloadProgress {
  file: string;
  loadedBytes: number;
  /** Unknown when the server sends no Content-Length. */
  totalBytes: number | undefined;
  /** True when the file came from Cache Storage, not the network. */
  cached: boolean;
}

/** Cache Storage where the page has it (secure contexts); undefined elsewhere. */
async function openCache(): Promise<Cache | undefined> {
  try {
    return typeof caches === 'undefined' ? undefined : await caches.open(CACHE_NAME);
  } catch {
    return undefined;
  }
}

/**
 * Fetch a checkpoint's files from a repository's resolve URL (`https://huggingface.co/<org>/
 * <repo>/resolve/main`, or a server with the same layout), reporting bytes as they stream in,
 * and keep each file in Cache Storage so the next visit reads it from disk.
 */
export async function fetchCheckpoint(
  base: string,
  onProgress: (p: DownloadProgress) => void = () => {},
): Promise<CheckpointFiles> {
  const cache = await openCache();
  const files: CheckpointFiles = {};
  for (const name of [...REQUIRED, ...OPTIONAL]) {
    const url = `${base.replace(/\/+$/, '')}/${name}`;
    const hit = await cache?.match(url);
    if (hit) {
      const blob = await hit.blob();
      onProgress({ file: name, loadedBytes: blob.size, totalBytes: blob.size, cached: true });
      files[name] = blob;
      continue;
    }
    const response = await fetch(url);
    if (response.status === 404 && OPTIONAL.includes(name)) continue;
    if (!response.ok || !response.body) {
      throw new QkvError(`GET ${url} answered ${response.status} ${response.statusText}`);
    }
    const blob = await readWithProgress(response, (loaded, total) =>
      onProgress({ file: name, loadedBytes: loaded, totalBytes: total, cached: false }),
    );
    await cache?.put(url, new Response(blob)).catch(() => undefined);
    files[name] = blob;
  }
  return files;
}

async function readWithProgress(
  response: Response,
  report: (loaded: number, total: number | undefined) => void,
): Promise<Blob> {
  const length = response.headers.get('content-length');
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const total = length !== null && !encoded ? Number(length) : undefined;
  const reader = response.body!.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    report(loaded, total);
  }
  return new Blob(chunks as BlobPart[]);
}

/** Files from a file picker, by name; config.json and a safetensors file must be among them. */
export function pickedCheckpoint(list: FileList | readonly File[]): CheckpointFiles {
  const files: CheckpointFiles = {};
  for (const file of Array.from(list)) files[file.name] = file;
  const missing = ['config.json'].filter((n) => !(n in files));
  if (!Object.keys(files).some((n) => n.endsWith('.safetensors'))) missing.push('*.safetensors');
  if (missing.length > 0) {
    throw new QkvError(
      `load files: pick config.json, the .safetensors weights and tokenizer.json together; missing ${missing.join(', ')} (got ${Object.keys(files).join(', ') || 'nothing'})`,
    );
  }
  return files;
}
