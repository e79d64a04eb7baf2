import { type OrtModule, type OrtPeer, ortPeer } from './onnxruntime.js';

export const ORT_WEB_PACKAGE = 'onnxruntime-web';

/** The part of onnxruntime-web's `env` that configures its WebAssembly backend. */
interface OrtWebEnv {
  versions?: Record<string, string>;
  wasm: { numThreads?: number; proxy?: boolean };
}

/**
 * onnxruntime-web's WebAssembly backend (SIMD, MLAS kernels), what a page without WebGPU
 * would run: the CPU peer the WebAssembly device is measured against. It loads in Node from
 * the package's own files. `threads` is the backend's thread count (1 by default, the
 * single-threaded comparison); onnxruntime-web fixes it at its first session, so one run
 * measures one thread count. `undefined`, with the reason logged, when it cannot load.
 */
export async function loadOrtWebPeer(
  log: (message: string) => void,
  threads = 1,
): Promise<OrtPeer | undefined> {
  let ort: OrtModule & { env: OrtWebEnv };
  try {
    const specifier = ORT_WEB_PACKAGE;
    const mod = (await import(/* @vite-ignore */ specifier)) as typeof ort & {
      default?: typeof ort;
    };
    ort = mod.InferenceSession ? mod : mod.default!;
  } catch (error) {
    log(`peer ${ORT_WEB_PACKAGE} skipped: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  const version = ort.env.versions?.web ?? ort.env.versions?.common ?? 'unknown';
  return ortPeer(ort, ORT_WEB_PACKAGE, version, threads, {
    executionProviders: ['wasm'],
    intraOpNumThreads: threads,
  });
}
