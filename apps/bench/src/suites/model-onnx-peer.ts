import { ORT_PACKAGE } from '../peers/onnxruntime.js';
import type { Params, SuiteContext } from '../suite.js';
import { assertClose } from './common.js';

/**
 * The model suite's peer: the same checkpoint exported to ONNX by
 * `scripts/export-model-onnx.py` (PyTorch, at bench time; nothing large is committed) and run
 * by onnxruntime-node on one thread, like qkv's single-threaded CPU backend. The graph maps
 * the prompt to its last position's logits, which must agree with qkv's before it is timed.
 * Skipped, with the reason logged, where Python with torch or onnxruntime-node is missing (a
 * browser, the single-file bundle) or QKV_BENCH_ONNX=0.
 */
export async function onnxPrefillPeer(
  ctx: SuiteContext,
  files: { config: Record<string, unknown>; checkpoint: Uint8Array },
  prompt: readonly number[],
  qkvLastLogits: Float32Array,
  params: Params,
): Promise<number | undefined> {
  const skip = (why: string) => {
    ctx.log(`  peer ${ORT_PACKAGE} skipped: ${why}`);
    return undefined;
  };
  if (typeof process === 'undefined') return skip('no Node.js here');
  if (process.env.QKV_BENCH_ONNX === '0') return skip('QKV_BENCH_ONNX=0');
  // Imported by name on use, so browser bundles of the suite never include them.
  const load = (name: string) => import(/* @vite-ignore */ name);
  const { spawnSync } = await load('node:child_process');
  const fs = await load('node:fs');
  const { tmpdir } = await load('node:os');
  const { join } = await load('node:path');
  const { fileURLToPath } = await load('node:url');
  const script = fileURLToPath(new URL('../../scripts/export-model-onnx.py', import.meta.url));
  if (!fs.existsSync(script)) return skip(`no ${script}`);
  const dir: string = fs.mkdtempSync(join(tmpdir(), 'qkv-model-onnx-'));
  try {
    fs.writeFileSync(join(dir, 'config.json'), JSON.stringify(files.config));
    fs.writeFileSync(join(dir, 'model.safetensors'), files.checkpoint);
    const onnx = join(dir, 'model.onnx');
    const python = process.env.QKV_BENCH_PYTHON ?? '/usr/bin/python3';
    const exported = spawnSync(python, [script, dir, onnx, String(prompt.length)], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (exported.status !== 0) {
      const reason = `${exported.error?.message ?? ''}${exported.stderr ?? ''}`.trim().split('\n');
      return skip(`export failed: ${reason[reason.length - 1]}`);
    }
    fs.rmSync(join(dir, 'model.safetensors'));
    let ort: OrtModule;
    try {
      const mod = (await load(ORT_PACKAGE)) as OrtModule & { default?: OrtModule };
      ort = mod.InferenceSession ? mod : mod.default!;
    } catch (error) {
      return skip((error as Error).message.split('\n')[0]!);
    }
    const session = await ort.InferenceSession.create(onnx, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
    });
    try {
      const feeds = { ids: new ort.Tensor('int32', Int32Array.from(prompt), [1, prompt.length]) };
      const run = async () => (await session.run(feeds)).logits!.data as Float32Array;
      assertClose(`model ${JSON.stringify(params)}`, qkvLastLogits, await run(), {
        atol: 1e-3,
        rtol: 1e-3,
      });
      const m = await ctx.measure(`${ORT_PACKAGE} prefill`, params, run, {
        warmup: 0,
        repeats: 2,
        config: { threads: 1 },
        trackMemory: false,
      });
      return m.medianMs;
    } finally {
      await session.release();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The slice of onnxruntime-node this peer uses. */
interface OrtModule {
  Tensor: new (type: 'int32', data: Int32Array, dims: readonly number[]) => unknown;
  InferenceSession: {
    create(
      path: string,
      options?: Record<string, unknown>,
    ): Promise<{
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
      release(): Promise<void>;
    }>;
  };
}
