import {
  type Device,
  decodeSafetensorsTensor,
  fromTypedArray,
  getDefaultDevice,
  type SafetensorsEntry,
  type Tensor,
} from '@qkv/tensor';
import { HfTokenizer } from '@qkv/tokenizer';
import { sharedWasmDevice, wasmSimdSupported } from '@qkv/wasm';
import { type ConfigJson, Weights } from '../architectures/architecture.js';
import { architectureFor } from '../architectures/registry.js';
import { fail } from '../errors.js';
import { Model } from '../model.js';
import { ByteReader, readText } from './byte-reader.js';
import { streamSafetensors } from './safetensors-stream.js';
import { type ModelFiles, type ModelSource, modelFiles } from './sources.js';

export interface LoadProgress {
  /** The file being read. */
  readonly file: string;
  /** Bytes of this file read so far, and its size when known. */
  readonly loadedBytes: number;
  readonly totalBytes: number | undefined;
  /** Parameters uploaded so far, of how many the model needs. */
  readonly loadedTensors: number;
  readonly totalTensors: number;
}

export interface LoadModelOptions {
  /**
   * Where the parameters live and the model runs. Default: the default device of
   * `@qkv/tensor` when one was set to something other than the reference CPU backend (a WebGPU
   * device, say); otherwise `@qkv/wasm`'s fast CPU device (`sharedWasmDevice()`), threaded
   * where the environment allows. Pass `cpu()` for the float64-accumulating reference.
   */
  device?: Device;
  onProgress?: (progress: LoadProgress) => void;
  /**
   * Keep files fetched from a URL in Cache Storage (`caches`, in browsers) and read them from
   * there next time. Default true; ignored where there is no Cache Storage (Node).
   */
  cache?: boolean;
}

/** Weight dtypes a checkpoint may hold; all load as float32 (see the README on memory). */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

async function readJson(files: ModelFiles, name: string): Promise<unknown | undefined> {
  const opened = await files.open(name);
  if (!opened) return undefined;
  const text = await readText(opened);
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail(
      'loadModel',
      `${files.locate(name)} is not valid JSON (${(error as Error).message})`,
    );
  }
}

/** The safetensors files to read: the index's shards in order, or model.safetensors. */
async function weightFiles(files: ModelFiles): Promise<string[]> {
  const index = (await readJson(files, 'model.safetensors.index.json')) as
    | { weight_map?: Record<string, string> }
    | undefined;
  if (index === undefined) return ['model.safetensors'];
  const map = index.weight_map;
  if (!map || typeof map !== 'object') {
    fail('loadModel', `${files.locate('model.safetensors.index.json')} has no "weight_map" object`);
  }
  return [...new Set(Object.values(map))];
}

/**
 * The device `loadModel` uses when given none: a default device the user chose, else the fast
 * CPU device. The reference CPU backend accumulates in float64 for conformance, many times
 * slower than float32 SIMD; models run on it only when asked for (or where the engine has no
 * WebAssembly SIMD).
 */
async function defaultModelDevice(): Promise<Device> {
  const chosen = getDefaultDevice();
  if (chosen.backend !== 'cpu' || !wasmSimdSupported()) return chosen;
  return sharedWasmDevice();
}

/**
 * Load a Hugging Face checkpoint: config.json, the safetensors weights (one file or shards
 * listed by model.safetensors.index.json) and tokenizer.json when present. Tensors are
 * streamed: each is read, checked against the shape the config implies, uploaded to the
 * device and released before the next is read, so host memory peaks near the largest tensor.
 * Any error names the file and tensor and leaves nothing allocated.
 */
export async function loadModel(
  source: ModelSource,
  options: LoadModelOptions = {},
): Promise<Model> {
  const files = modelFiles(source, { cache: options.cache ?? true });
  const device = options.device ?? (await defaultModelDevice());
  const configJson = (await readJson(files, 'config.json')) as ConfigJson | undefined;
  if (configJson === undefined)
    fail('loadModel', `no config.json at ${files.locate('config.json')}`);
  const modelType = configJson.model_type;
  const architecture = architectureFor(modelType, 'loadModel', files.locate('config.json'));
  const config = architecture.parseConfig(configJson);
  // The small files first, so nothing is allocated when one of them is bad.
  const tokenizerJson = await readJson(files, 'tokenizer.json');
  let tokenizer: HfTokenizer | undefined;
  try {
    tokenizer = tokenizerJson === undefined ? undefined : HfTokenizer.fromJSON(tokenizerJson);
  } catch (error) {
    fail('loadModel', `${files.locate('tokenizer.json')}: ${(error as Error).message}`);
  }
  const tokenizerConfig = (await readJson(files, 'tokenizer_config.json')) as
    | Record<string, unknown>
    | undefined;
  const expected = architecture.parameters(config);
  const shards = await weightFiles(files);
  const loaded = new Map<string, Tensor>();
  try {
    for (const file of shards) {
      const opened = await files.open(file);
      if (!opened) fail('loadModel', `no ${file} at ${files.locate(file)}`);
      let bytes = 0;
      const report = () =>
        options.onProgress?.({
          file,
          loadedBytes: bytes,
          totalBytes: opened.size,
          loadedTensors: loaded.size,
          totalTensors: expected.size,
        });
      const reader = new ByteReader(opened, files.locate(file), (n) => {
        bytes += n;
      });
      const wanted = (entry: SafetensorsEntry) => {
        const name = architecture.canonicalName(entry.name);
        return name !== undefined && expected.has(name);
      };
      const upload = (entry: SafetensorsEntry, data: Uint8Array) => {
        const name = architecture.canonicalName(entry.name)!;
        const shape = expected.get(name)!;
        const where = `${files.locate(file)}: tensor "${entry.name}"`;
        if (loaded.has(name)) fail('loadModel', `${where} appears twice in the checkpoint`);
        if (!FLOAT_DTYPES.has(entry.dtype)) {
          fail('loadModel', `${where} is ${entry.dtype}; expected F32, F16 or BF16 weights`);
        }
        if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
          fail(
            'loadModel',
            `${where} has shape [${entry.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
          );
        }
        // F16 and BF16 widen to float32 here (decode gives a Float32Array for both).
        loaded.set(
          name,
          fromTypedArray(decodeSafetensorsTensor(entry, data), shape, 'float32', device),
        );
        report();
      };
      try {
        await streamSafetensors(files.locate(file), reader, opened.size, wanted, upload);
      } finally {
        await reader.close();
      }
      report();
    }
    const missing = [...expected.keys()].filter((name) => !loaded.has(name));
    if (missing.length > 0) {
      fail(
        'loadModel',
        `${shards.map((f) => files.locate(f)).join(', ')} lack ${missing.length} tensor(s) a ${String(modelType)} model with this config.json needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
      );
    }
  } catch (error) {
    for (const t of loaded.values()) t.dispose();
    throw error;
  }
  const weights = new Weights(loaded);
  let network: ReturnType<typeof architecture.build>;
  try {
    network = architecture.build(config, weights, device);
    weights.disposeUntaken();
  } catch (error) {
    weights.disposeAll();
    throw error;
  }
  return new Model({
    modelType: String(modelType),
    kind: architecture.kind,
    config: configJson,
    network,
    weights,
    device,
    tokenizer,
    tokenizerConfig,
  });
}
