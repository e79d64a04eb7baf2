import { attention, cpu, type Device, fromTypedArray, matmul, type Tensor } from '@qkv/tensor';
import { createWasmDevice } from '@qkv/wasm';
import type { OnnxNodeSpec } from '../peers/onnx-model.js';
import { loadOrtPeer, type OrtPeer } from '../peers/onnxruntime.js';
import { loadOrtWebPeer } from '../peers/onnxruntime-web.js';
import type { MeasureOptions, Params, Suite, SuiteContext } from '../suite.js';
import { assertClose, normalData } from './common.js';

/**
 * Every CPU path side by side in one process: qkv's WebAssembly device (`@qkv/wasm`) on one
 * and two threads, qkv's float64 reference backend, onnxruntime-web's WebAssembly backend
 * (what a page without WebGPU runs; one thread, which it fixes per process) and
 * onnxruntime-node (native MLAS) on one and two threads. Independent of `--device`. Each
 * path's output is checked against the one-thread WebAssembly device's before it is timed.
 */
export const cpuPeersSuite: Suite = {
  name: 'cpu-peers',
  description:
    'matmul and attention on every CPU path: qkv wasm, qkv reference, onnxruntime-web, onnxruntime-node',
  async run(ctx) {
    const wasm = await createWasmDevice();
    const wasm2 = await createWasmDevice({ threads: 2 });
    const peers = [
      await loadOrtWebPeer(ctx.log),
      await loadOrtPeer(ctx.log),
      await loadOrtPeer(ctx.log, 2),
    ].filter((p): p is OrtPeer => p !== undefined);
    const paths: CpuPaths = {
      devices: [
        ['qkv wasm', wasm],
        [`qkv wasm ${wasm2.threads}t`, wasm2],
      ],
      peers,
    };
    for (const [i, n] of (ctx.quick ? [33] : [256, 512]).entries()) {
      await matmulCase(ctx, paths, n, 700 + i);
    }
    for (const causal of [false, true]) {
      for (const [i, n] of (ctx.quick ? [33] : [256, 512, 1024, 2048]).entries()) {
        await attentionCase(ctx, paths, n, causal, 800 + 10 * i + Number(causal));
      }
    }
    wasm2.dispose();
  },
};

interface CpuPaths {
  /** qkv devices by the name their results are recorded under, the reference first. */
  devices: [string, Device][];
  peers: OrtPeer[];
}

/**
 * The reference backend accumulates in float64 at well under 1 GFLOP/s: past this many
 * flops (matmul 512³, attention N = 512) a call takes seconds and it is left out (logged).
 */
const REFERENCE_MAX_FLOPS = 3e8;

interface CpuCase {
  suite: string;
  params: Params;
  options: MeasureOptions;
  /** Host data of every input, in the op's order. */
  inputs: { data: Float32Array; shape: number[] }[];
  op: (inputs: Tensor[]) => Tensor;
  onnx: OnnxNodeSpec;
  tolerance: { atol: number; rtol: number };
}

async function measureCpuCase(ctx: SuiteContext, paths: CpuPaths, c: CpuCase): Promise<void> {
  const flops = c.options.flops ?? 0;
  const devices = [...paths.devices];
  if (flops <= REFERENCE_MAX_FLOPS) devices.push(['qkv cpu', cpu()]);
  else ctx.log(`qkv cpu skipped for ${JSON.stringify(c.params)}: ${flops} flops per call`);
  let expected: Float32Array | undefined;
  for (const [name, device] of devices) {
    const inputs = c.inputs.map((x) => fromTypedArray(x.data, x.shape, 'float32', device));
    try {
      const first = c.op(inputs);
      const out = first.dataSync() as Float32Array;
      first.dispose();
      if (expected) assertClose(c.suite, out, expected, c.tolerance, [name, 'qkv wasm']);
      else expected = out;
      await measureWithCpuTime(ctx, name, c.params, () => c.op(inputs).dispose(), {
        ...c.options,
        trackMemory: false,
      });
    } finally {
      for (const t of inputs) t.dispose();
    }
  }
  for (const peer of paths.peers) {
    const graph = await peer.graph(
      c.onnx,
      c.inputs.map((x) => x.data),
    );
    try {
      assertClose(c.suite, await graph.run(), expected!, c.tolerance, [peer.name, 'qkv wasm']);
      const name = peer.threads > 1 ? `${peer.name} ${peer.threads}t` : peer.name;
      await measureWithCpuTime(ctx, name, c.params, () => graph.run(), {
        ...c.options,
        config: { threads: peer.threads, version: peer.version },
        trackMemory: false,
      });
    } finally {
      await graph.release();
    }
  }
}

/**
 * `ctx.measure`, plus the median CPU time of the process per timed call, kept as
 * `config.cpuMs` and logged. On a machine shared with other work, wall time includes waiting
 * for a core; CPU time does not, so for one-thread paths it is the steadier figure (for
 * several threads it is their sum, not a duration).
 */
async function measureWithCpuTime(
  ctx: SuiteContext,
  name: string,
  params: Params,
  fn: () => unknown,
  options: MeasureOptions,
): Promise<void> {
  const cpuMs: number[] = [];
  const m = await ctx.measure(
    name,
    params,
    async () => {
      const start = process.cpuUsage();
      await fn();
      const used = process.cpuUsage(start);
      cpuMs.push((used.user + used.system) / 1000);
    },
    options,
  );
  // The first calls were the warm-up; each sample is one call (no minimum sample time here).
  const timed = cpuMs.slice(cpuMs.length - m.samplesMs.length).sort((a, b) => a - b);
  const cpuMedian = timed[timed.length >> 1]!;
  m.config = { ...m.config, cpuMs: cpuMedian };
  const rate = m.flops ? `, ${(m.flops / cpuMedian / 1e6).toFixed(1)} GFLOP/s` : '';
  ctx.log(`${name} ${JSON.stringify(params)}: CPU time ${cpuMedian.toFixed(2)} ms${rate}`);
}

function matmulCase(ctx: SuiteContext, paths: CpuPaths, n: number, seed: number) {
  const shape = [n, n];
  return measureCpuCase(ctx, paths, {
    suite: 'cpu-peers matmul',
    params: { op: 'matmul', n },
    options: { flops: 2 * n ** 3, x: 'n', series: 'matmul' },
    inputs: [0, 1].map((j) => ({ data: normalData(n * n, seed + 1000 * j), shape })),
    op: ([a, b]) => matmul(a!, b!),
    onnx: {
      opType: 'MatMul',
      inputs: [
        { name: 'a', shape },
        { name: 'b', shape },
      ],
      outputs: [{ name: 'y', shape }],
    },
    tolerance: { atol: 1e-4 * Math.sqrt(n), rtol: 1e-4 },
  });
}

function attentionCase(
  ctx: SuiteContext,
  paths: CpuPaths,
  seqLen: number,
  causal: boolean,
  seed: number,
) {
  const heads = 4;
  const headDim = 64;
  const shape = [1, heads, seqLen, headDim];
  const size = heads * seqLen * headDim;
  return measureCpuCase(ctx, paths, {
    suite: 'cpu-peers attention',
    params: { op: 'attention', heads, headDim, seqLen, causal },
    // Causal counts half the flops, as in the attention suite.
    options: {
      flops: (4 * heads * seqLen * seqLen * headDim) / (causal ? 2 : 1),
      x: 'seqLen',
      series: `attention ${causal ? 'causal' : 'full'}`,
    },
    inputs: [0, 1, 2].map((j) => ({ data: normalData(size, seed + 1000 * j), shape })),
    op: ([q, k, v]) => attention(q!, k!, v!, { isCausal: causal }),
    onnx: {
      opType: 'Attention',
      opset: 23,
      inputs: ['q', 'k', 'v'].map((name) => ({ name, shape })),
      outputs: [{ name: 'y', shape }],
      intAttrs: { is_causal: causal ? 1 : 0 },
    },
    tolerance: { atol: 1e-4, rtol: 1e-3 },
  });
}
