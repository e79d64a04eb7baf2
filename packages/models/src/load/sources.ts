import { fail } from '../errors.js';
import { fromReadableStream, type OpenedFile } from './byte-reader.js';

/**
 * Where a checkpoint's files come from:
 * - a directory path (Node), read with `node:fs`;
 * - a URL base (`https://huggingface.co/<org>/<repo>/resolve/main`), fetched and streamed;
 * - a record of file name → ArrayBuffer, Uint8Array, Blob or File (a browser file picker).
 */
export type ModelSource = string | URL | Readonly<Record<string, ArrayBuffer | Uint8Array | Blob>>;

/** Files of one source; `open` resolves undefined for a file the source does not have. */
export interface ModelFiles {
  /** Where a file is, for error messages (a path or a URL). */
  locate(name: string): string;
  open(name: string): Promise<OpenedFile | undefined>;
}

const CHUNK = 1 << 20;

/** The part of Node's `fs/promises` a directory source uses (no Node types in the build). */
interface NodeFs {
  open(
    path: string,
    flags: string,
  ): Promise<{
    read(
      buffer: Uint8Array,
      offset: number,
      length: number,
      position: number | null,
    ): Promise<{ bytesRead: number }>;
    stat(): Promise<{ size: number }>;
    close(): Promise<void>;
  }>;
}

/** Node's fs, imported on use so bundles for the browser never include it. */
async function nodeFs(): Promise<NodeFs> {
  const specifier = 'node:fs/promises';
  return (await import(/* @vite-ignore */ specifier)) as NodeFs;
}

function isUrl(source: string | URL): boolean {
  return source instanceof URL || /^(https?|file|blob|data):/i.test(source);
}

export function modelFiles(source: ModelSource): ModelFiles {
  if (typeof source === 'string' || source instanceof URL) {
    return isUrl(source) ? urlFiles(String(source)) : directoryFiles(source as string);
  }
  if (source === null || typeof source !== 'object') {
    fail(
      'loadModel',
      `source must be a directory path, a URL or a record of file name → ArrayBuffer | Blob, got ${source === null ? 'null' : typeof source}`,
    );
  }
  return recordFiles(source);
}

function directoryFiles(dir: string): ModelFiles {
  const locate = (name: string) => `${dir.replace(/\/+$/, '')}/${name}`;
  return {
    locate,
    async open(name) {
      const fs = await nodeFs();
      let handle: Awaited<ReturnType<NodeFs['open']>>;
      try {
        handle = await fs.open(locate(name), 'r');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return undefined;
        throw error;
      }
      const size = (await handle.stat()).size;
      let closed = false;
      return {
        size,
        async next() {
          if (closed) return undefined;
          const buffer = new Uint8Array(CHUNK);
          const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
          return bytesRead === 0 ? undefined : buffer.subarray(0, bytesRead);
        },
        async close() {
          if (!closed) await handle.close();
          closed = true;
        },
      };
    },
  };
}

function urlFiles(base: string): ModelFiles {
  const locate = (name: string) => `${base.replace(/\/+$/, '')}/${name}`;
  return {
    locate,
    async open(name) {
      const url = locate(name);
      const response = await fetch(url);
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        fail('loadModel', `GET ${url} answered ${response.status} ${response.statusText}`);
      }
      const length = response.headers.get('content-length');
      // A compressed response's Content-Length counts the compressed bytes, not the file's.
      const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
      return fromReadableStream(
        response.body,
        length !== null && !encoded ? Number(length) : undefined,
      );
    },
  };
}

function recordFiles(
  record: Readonly<Record<string, ArrayBuffer | Uint8Array | Blob>>,
): ModelFiles {
  return {
    locate: (name) => name,
    async open(name) {
      if (!Object.hasOwn(record, name)) return undefined;
      const value = record[name];
      if (value instanceof ArrayBuffer || value instanceof Uint8Array) {
        const bytes = value instanceof Uint8Array ? value : new Uint8Array(value);
        let done = false;
        return {
          size: bytes.byteLength,
          async next() {
            if (done) return undefined;
            done = true;
            return bytes;
          },
          async close() {},
        };
      }
      if (typeof Blob !== 'undefined' && value instanceof Blob) {
        return fromReadableStream(value.stream() as ReadableStream<Uint8Array>, value.size);
      }
      return fail(
        'loadModel',
        `file "${name}" of the source record must be an ArrayBuffer, Uint8Array, Blob or File`,
      );
    },
  };
}
