import { type OnnxNodeSpec, singleNodeModel } from './onnx-model.js';

export const ORT_PACKAGE = 'onnxruntime-node';

/** The slice of onnxruntime-node's API the peers use. */
interface OrtTensor {
  readonly data: unknown;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface OrtModule {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  env: { versions?: Record<string, string> };
}

/** One single-node ONNX graph, ready to run on fixed inputs. */
export interface OrtGraph {
  /** Run once on the inputs given to `ortGraph` and return the first output. */
  run(): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface OrtPeer {
  /** The package measured, the name its results are recorded under. */
  name: string;
  version: string;
  /** Thread count the sessions use; one by default to match the single-threaded CPU backend. */
  threads: number;
  graph(node: OnnxNodeSpec, inputs: readonly Float32Array[]): Promise<OrtGraph>;
}

/**
 * onnxruntime-node when it can be loaded, else `undefined` with the reason logged: the peer is
 * optional (its native library is absent from the single-file bundle, for one).
 */
export async function loadOrtPeer(
  log: (message: string) => void,
  threads = 1,
): Promise<OrtPeer | undefined> {
  let ort: OrtModule;
  try {
    const specifier = ORT_PACKAGE;
    const mod = (await import(/* @vite-ignore */ specifier)) as OrtModule & { default?: OrtModule };
    ort = mod.InferenceSession ? mod : mod.default!;
  } catch (error) {
    log(`peer ${ORT_PACKAGE} skipped: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
  const version = ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown';
  return ortPeer(ort, ORT_PACKAGE, version, threads, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
}

/** A peer over an onnxruntime module (node or web): one session per single-node graph. */
export function ortPeer(
  ort: OrtModule,
  name: string,
  version: string,
  threads: number,
  sessionOptions: Record<string, unknown>,
): OrtPeer {
  return {
    name,
    version,
    threads,
    async graph(node, inputs) {
      const session = await ort.InferenceSession.create(singleNodeModel(node), sessionOptions);
      const feeds = Object.fromEntries(
        node.inputs.map((spec, i) => [
          spec.name,
          new ort.Tensor('float32', inputs[i]!, spec.shape),
        ]),
      );
      const outName = node.outputs[0]!.name;
      return {
        run: async () => (await session.run(feeds))[outName]!.data as Float32Array,
        release: () => session.release(),
      };
    },
  };
}
