import { attention, type Device, type Tensor } from '@qkv/tensor';
import { type OnnxNodeSpec, singleNodeModel } from '../peers/onnx-model.js';
import type { Suite, SuiteContext } from '../suite.js';
import { contextDevice, measureOp, normalData, upload } from '../suites/common.js';

/**
 * qkv's fused attention beside onnxruntime-web's WebGPU attention on the same GPUDevice, in
 * the dashboard page: WGSL is only comparable with WGSL on the same adapter. The peer runs
 * onnxruntime's contrib operators `MultiHeadAttention` (full) and `GroupQueryAttention`
 * (causal, fewer key/value heads) as one-node graphs, with inputs already in GPU buffers and
 * outputs left there, so neither side's timing includes an upload or a read-back. Before
 * timing, the outputs are read back once and compared; the result is logged and kept in the
 * peer's `config` (`agreement`, `maxAbsDiff`). A disagreement does not stop the run, as it
 * does for the CLI's peers: the page reports it beside the timing, which then only tells how
 * long the peer's (wrong) kernel takes.
 */

export const ORT_WEB = 'onnxruntime-web';

/** The slice of onnxruntime-web's API used here. */
interface OrtWebTensor {
  getData(): Promise<unknown>;
  dispose(): void;
}
export interface OrtWebModule {
  Tensor: {
    new (type: 'int32', data: Int32Array, dims: readonly number[]): OrtWebTensor;
    fromGpuBuffer(
      buffer: unknown,
      options: { dataType: 'float32'; dims: readonly number[] },
    ): OrtWebTensor;
  };
  InferenceSession: {
    create(
      model: Uint8Array,
      options: Record<string, unknown>,
    ): Promise<{
      run(feeds: Record<string, OrtWebTensor>): Promise<Record<string, OrtWebTensor>>;
      release(): Promise<void>;
    }>;
  };
  env: {
    versions?: Record<string, string>;
    wasm: { numThreads?: number; wasmPaths?: string };
  };
}

/** The part of a `GPUDevice` this suite uses (the bench app does not depend on WebGPU types). */
interface GpuDevice {
  createBuffer(d: { size: number; usage: number }): { destroy(): void };
  queue: {
    writeBuffer(b: unknown, offset: number, data: ArrayBufferView): void;
    onSubmittedWorkDone(): Promise<void>;
  };
}

// GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST (numeric: no WebGPU globals in Node's types).
const STORAGE_COPY = 0x80 | 0x04 | 0x08;

/** One case of the suite: which operator, how many heads of which size, how long. */
export interface PeerAttentionCase {
  op: 'MultiHeadAttention' | 'GroupQueryAttention';
  heads: number;
  kvHeads: number;
  headDim: number;
  seqLen: number;
}

/** Tolerances of the agreement check: two f32 WGSL kernels with different reductions. */
const TOLERANCE = { atol: 1e-4, rtol: 1e-3 };

/** Whether every value is within `atol + rtol·|theirs|` of ours (the check of `assertClose`). */
function closeEnough(ours: Float32Array, theirs: Float32Array): boolean {
  if (ours.length !== theirs.length) return false;
  for (let i = 0; i < ours.length; i++) {
    if (
      !(Math.abs(ours[i]! - theirs[i]!) <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(theirs[i]!))
    )
      return false;
  }
  return true;
}

/** `[1, H, N, D]` (qkv's layout) to `[1, N, H·D]` (the contrib operators' packed one). */
export function toPacked(data: Float32Array, heads: number, n: number, d: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < n; i++)
      out.set(data.subarray((h * n + i) * d, (h * n + i + 1) * d), (i * heads + h) * d);
  return out;
}

/** The contrib operator's one-node graph for a case. */
export function peerNode(c: PeerAttentionCase): OnnxNodeSpec {
  const { heads, kvHeads, headDim: d, seqLen: n } = c;
  const q = { name: 'query', shape: [1, n, heads * d] };
  const kv = (name: string) => ({ name, shape: [1, n, kvHeads * d] });
  const out = { name: 'output', shape: [1, n, heads * d] };
  if (c.op === 'MultiHeadAttention') {
    return {
      opType: 'MultiHeadAttention',
      domain: 'com.microsoft',
      inputs: [q, kv('key'), kv('value')],
      outputs: [out],
      intAttrs: { num_heads: heads },
    };
  }
  // GroupQueryAttention is causal; a prompt without a past cache: seqlens_k = N - 1.
  const present = (name: string) => ({ name, shape: [1, kvHeads, n, d] });
  return {
    opType: 'GroupQueryAttention',
    domain: 'com.microsoft',
    inputs: [
      q,
      kv('key'),
      kv('value'),
      { name: '', shape: [] },
      { name: '', shape: [] },
      { name: 'seqlens_k', shape: [1], type: 'int32' },
      { name: 'total_sequence_length', shape: [], type: 'int32' },
    ],
    outputs: [out, present('present_key'), present('present_value')],
    intAttrs: { num_heads: heads, kv_num_heads: kvHeads },
  };
}

function cases(quick: boolean): PeerAttentionCase[] {
  const lengths = quick ? [32, 64] : [128, 256, 512];
  // 4 heads of E = 64 (the attention suite's D = 64); GQA with 2 key/value heads.
  return (['MultiHeadAttention', 'GroupQueryAttention'] as const).flatMap((op) =>
    lengths.map((seqLen) => ({
      op,
      heads: 4,
      kvHeads: op === 'GroupQueryAttention' ? 2 : 4,
      headDim: 64,
      seqLen,
    })),
  );
}

async function peerCase(
  ctx: SuiteContext,
  ort: OrtWebModule,
  gpu: GpuDevice,
  c: PeerAttentionCase,
  seed: number,
): Promise<void> {
  const { op, heads, kvHeads, headDim: d, seqLen: n } = c;
  const causal = op === 'GroupQueryAttention';
  const data = [heads, kvHeads, kvHeads].map((h, j) => normalData(h * n * d, seed + j));
  const [q, k, v] = data.map((x, j) => upload(ctx, x, [1, j === 0 ? heads : kvHeads, n, d])) as [
    Tensor,
    Tensor,
    Tensor,
  ];
  const buffers = data.map((x, j) => {
    const packed = toPacked(x, j === 0 ? heads : kvHeads, n, d);
    const buffer = gpu.createBuffer({ size: packed.byteLength, usage: STORAGE_COPY });
    gpu.queue.writeBuffer(buffer, 0, packed);
    return buffer;
  });
  const node = peerNode(c);
  const session = await ort.InferenceSession.create(singleNodeModel(node), {
    // The EP option `device` makes the session use qkv's GPUDevice: one adapter, one queue.
    executionProviders: [{ name: 'webgpu', device: gpu }],
    preferredOutputLocation: 'gpu-buffer',
  });
  const feeds: Record<string, OrtWebTensor> = {};
  ['query', 'key', 'value'].forEach((name, j) => {
    feeds[name] = ort.Tensor.fromGpuBuffer(buffers[j], {
      dataType: 'float32',
      dims: node.inputs[j]!.shape,
    });
  });
  if (causal) {
    feeds.seqlens_k = new ort.Tensor('int32', Int32Array.of(n - 1), [1]);
    feeds.total_sequence_length = new ort.Tensor('int32', Int32Array.of(n), []);
  }
  const run = () => attention(q, k, v, { isCausal: causal, enableGqa: kvHeads !== heads });
  const params = { op, heads, kvHeads, headDim: d, seqLen: n };
  const flops = (4 * heads * n * n * d) / (causal ? 2 : 1);
  const options = { flops, x: 'seqLen', series: op, group: op };
  try {
    // Agreement first: a fast wrong answer is not a result.
    const ours = run();
    const expected = toPacked((await ours.data()) as Float32Array, heads, n, d);
    ours.dispose();
    const outputs = await session.run(feeds);
    const theirs = (await outputs.output!.getData()) as Float32Array;
    for (const t of Object.values(outputs)) t.dispose();
    let maxAbsDiff = 0;
    for (let i = 0; i < theirs.length; i++)
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(theirs[i]! - expected[i]!));
    const where = `${op} heads=${heads} kvHeads=${kvHeads} headDim=${d} seqLen=${n}`;
    const agrees = closeEnough(expected, theirs);
    ctx.log(
      `agreement ${where}: ${agrees ? 'qkv and onnxruntime-web agree' : `OUTPUTS DISAGREE: timed for reference only`}, largest |difference| ${maxAbsDiff.toExponential(2)} (allowed: atol ${TOLERANCE.atol} + rtol ${TOLERANCE.rtol}·|value|)`,
    );
    await measureOp(ctx, 'qkv', params, run, options);
    await ctx.measure(
      ORT_WEB,
      params,
      async () => {
        const result = await session.run(feeds);
        await gpu.queue.onSubmittedWorkDone();
        for (const t of Object.values(result)) t.dispose();
      },
      {
        ...options,
        role: 'peer',
        trackMemory: false,
        config: {
          backend: 'webgpu',
          version: ort.env.versions?.web ?? ort.env.versions?.common ?? 'unknown',
          agreement: agrees ? 'agrees' : 'disagrees',
          maxAbsDiff: Number(maxAbsDiff.toPrecision(3)),
          atol: TOLERANCE.atol,
          rtol: TOLERANCE.rtol,
        },
      },
    );
  } finally {
    await session.release();
    for (const t of [q, k, v]) t.dispose();
    for (const b of buffers) b.destroy();
  }
}

/**
 * The suite, given a loader for onnxruntime-web (the page imports it from the folder it is
 * served from). Skips with a note off WebGPU or where the peer cannot be loaded.
 */
export function webgpuPeersSuite(loadOrt: () => Promise<OrtWebModule>): Suite {
  return {
    name: 'webgpu-attention',
    description: `qkv's fused attention beside ${ORT_WEB}'s WebGPU MultiHeadAttention and GroupQueryAttention on the same adapter`,
    async run(ctx) {
      const device = contextDevice(ctx) as Device & { gpu?: GpuDevice };
      if (device.backend !== 'webgpu' || !device.gpu) {
        ctx.log(`webgpu-attention skipped: it compares WebGPU kernels (device: ${device.name})`);
        return;
      }
      let ort: OrtWebModule;
      try {
        ort = await loadOrt();
      } catch (error) {
        ctx.log(`peer ${ORT_WEB} skipped: ${(error as Error).message.split('\n')[0]}`);
        return;
      }
      for (const [i, c] of cases(ctx.quick).entries())
        await peerCase(ctx, ort, device.gpu, c, 700 + 10 * i);
    },
  };
}

/**
 * onnxruntime-web's WebGPU build, from the `ort/` folder beside the page (`qkv-bench serve`
 * puts it there). One wasm thread: no SharedArrayBuffer, so the page needs no cross-origin
 * isolation.
 */
export async function loadOrtFromPage(): Promise<OrtWebModule> {
  if (location.protocol === 'file:') {
    throw new Error(
      'the page was opened from a file; serve it (qkv-bench serve) so onnxruntime-web can load its wasm',
    );
  }
  const base = new URL('ort/', location.href).href;
  const ort = (await import(/* @vite-ignore */ `${base}ort.webgpu.min.mjs`)) as OrtWebModule;
  ort.env.wasm.wasmPaths = base;
  ort.env.wasm.numThreads = 1;
  return ort;
}
