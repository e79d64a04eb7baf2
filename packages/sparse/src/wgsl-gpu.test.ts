import { Random } from '@qkv/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileJs } from './compile-js.js';
import {
  type Expr,
  f32,
  floorDiv,
  kvIdx,
  mod,
  not,
  or,
  param,
  qIdx,
  score,
  where,
} from './expr.js';
import * as patterns from './patterns.js';
import { alibi, composeScoreMods, relativeBias, softCap, t5Bias } from './score-mods.js';
import { toWgsl } from './wgsl.js';

// The generated WGSL compiled by a real WebGPU implementation (Dawn, through the `webgpu`
// package; SwiftShader where there is no GPU) and run over a grid of positions, negative
// ones included (clamped table reads), against the JavaScript predicate. Without an adapter
// the suite is skipped, unless QKV_REQUIRE_GPU=1, where it fails.

const NQ = 37;
const NK = 29;
const OFFSET = 3;
const POISON = 0xdeadbeef;

// The GPU object must outlive the device: if it is garbage-collected, Dawn's instance goes
// with it and the process aborts.
let gpu: GPU | undefined;
let device: GPUDevice | undefined;
let why = '';

beforeAll(async () => {
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    gpu = create(['backend=vulkan']);
    const adapter = await gpu.requestAdapter();
    device = (await adapter?.requestDevice()) ?? undefined;
    if (!device) why = 'no WebGPU adapter (set VK_ICD_FILENAMES / LD_LIBRARY_PATH for SwiftShader)';
  } catch (error) {
    why = `webgpu failed to load: ${(error as Error).message}`;
  }
  if (!device && process.env.QKV_REQUIRE_GPU === '1')
    throw new Error(`QKV_REQUIRE_GPU=1 but ${why}`);
});

afterAll(() => device?.destroy());

function upload(d: GPUDevice, data: ArrayBufferView, usage: number): GPUBuffer {
  const buffer = d.createBuffer({
    size: Math.max(16, Math.ceil(data.byteLength / 4) * 4),
    usage: usage | GPUBufferUsage.COPY_DST,
  });
  d.queue.writeBuffer(buffer, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return buffer;
}

async function read(d: GPUDevice, source: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const staging = d.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = d.createCommandEncoder();
  enc.copyBufferToBuffer(source, 0, staging, 0, bytes);
  d.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0);
  staging.destroy();
  return out;
}

/** Run mask_mod and score_mod for every (q, k) of the grid; returns 0/1 and modified scores. */
async function runOnGpu(
  d: GPUDevice,
  mask: Expr,
  scoreMod: Expr,
  scores: Float32Array,
  bh: [number, number],
) {
  const snippet = toWgsl({ mask, scoreMod }, { group: 1 });
  const code = `${snippet.code}
struct Grid { n_q: u32, n_k: u32, b: i32, h: i32 }
@group(0) @binding(0) var<storage, read_write> out_mask: array<u32>;
@group(0) @binding(1) var<storage, read_write> out_score: array<f32>;
@group(0) @binding(2) var<storage, read> in_score: array<f32>;
@group(0) @binding(3) var<uniform> grid: Grid;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= grid.n_q * grid.n_k) { return; }
  let q = i32(i / grid.n_k) - ${OFFSET}i;
  let k = i32(i % grid.n_k) - ${OFFSET}i;
  out_mask[i] = select(0u, 1u, ${snippet.maskFunction}(grid.b, grid.h, q, k));
  out_score[i] = ${snippet.scoreFunction}(in_score[i], grid.b, grid.h, q, k);
}`;
  d.pushErrorScope('validation');
  const module = d.createShaderModule({ code });
  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  expect(
    errors.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`),
    code,
  ).toEqual([]);
  const pipeline = d.createComputePipeline({
    layout: 'auto',
    compute: { module, entryPoint: 'main' },
  });
  const n = NQ * NK;
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const outMask = upload(d, new Uint32Array(n).fill(POISON), storage);
  const outScore = upload(d, new Float32Array(n).fill(Number.NaN), storage);
  const buffers = [
    outMask,
    outScore,
    upload(d, scores, GPUBufferUsage.STORAGE),
    upload(d, new Int32Array([NQ, NK, ...bh]), GPUBufferUsage.UNIFORM),
  ];
  const tables = snippet.bindings.map((x) =>
    upload(d, x.data, x.kind === 'uniform' ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE),
  );
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    d.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  if (tables.length > 0) {
    pass.setBindGroup(
      1,
      d.createBindGroup({
        layout: pipeline.getBindGroupLayout(1),
        entries: snippet.bindings.map((x, i) => ({
          binding: x.binding,
          resource: { buffer: tables[i]! },
        })),
      }),
    );
  }
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  d.queue.submit([enc.finish()]);
  const result = {
    mask: new Uint32Array(await read(d, outMask, n * 4)),
    score: new Float32Array(await read(d, outScore, n * 4)),
  };
  expect(await d.popErrorScope()).toBeNull();
  for (const b of [...buffers, ...tables]) b.destroy();
  return result;
}

const rng = new Random(1);
const t5 = Float32Array.from({ length: 32 * 3 }, () => rng.nextNormal());
const rel = Float32Array.from({ length: 3 * 9 }, () => rng.nextNormal());
const segments = Int32Array.from({ length: NQ }, (_, i) => Math.floor(i / 4));

// Seven modifiers against seventeen masks: 'param window' (index 14) meets 'param scale'
// (index 0), so one uniform struct holds an i32 and an f32 field.
const SCORE_MODS: [string, Expr][] = [
  ['param scale', score.mul(param('inv_temperature', 0.75, 'f32'))],
  ['identity', score],
  ['alibi', alibi(3)],
  ['soft-cap', softCap(5)],
  ['t5', t5Bias(t5, { heads: 3 })],
  ['relative', relativeBias(rel, 4, { heads: 3 })],
  [
    'composed',
    composeScoreMods(
      alibi(3),
      softCap(2),
      where(qIdx.eq(kvIdx), score.mul(f32(0.5)), score.add(f32(-1.25e-3))),
    ),
  ],
];

const MASKS: [string, Expr][] = [
  ['causal', patterns.causal()],
  ['causal(+4)', patterns.causal(4)],
  ['sliding window', patterns.slidingWindow(5)],
  ['symmetric window', patterns.symmetricWindow(3)],
  ['dilated causal', patterns.dilatedSlidingWindow({ window: 3, dilation: 3 })],
  ['dilated symmetric', patterns.dilatedSlidingWindow({ window: 2, dilation: 4, causal: false })],
  ['longformer first n', patterns.longformer({ radius: 2, global: 2 })],
  ['longformer list', patterns.longformer({ radius: 1, global: [0, 7, 20] })],
  ['bigbird', patterns.bigBird({ blockSize: 4, seqLen: NQ, seed: 2 })],
  ['strided', patterns.sparseTransformerStrided(4)],
  ['fixed', patterns.sparseTransformerFixed(5, 2)],
  ['document causal', patterns.documentMask(segments, { causal: true })],
  ['prefix per batch', patterns.prefixLM([3, 11])],
  ['key padding', patterns.keyPadding([10, 20])],
  ['param window', qIdx.sub(kvIdx).lt(param('window', 6)).and(qIdx.ge(kvIdx))],
  [
    'floor / mod of negatives',
    floorDiv(qIdx.sub(kvIdx), -3)
      .eq(mod(kvIdx.sub(4), -4))
      .or(mod(qIdx.sub(9), 4).eq(floorDiv(kvIdx.sub(7), 3))),
  ],
  ['not / or / and', not(or(patterns.slidingWindow(3), patterns.documentMask([0, 1, 1, 2])))],
];

describe('generated WGSL on a WebGPU device', () => {
  const cases = MASKS.map(([name, mask], i) => {
    const [modName, scoreMod] = SCORE_MODS[i % SCORE_MODS.length]!;
    return { name, modName, mask, scoreMod };
  });
  it.for(cases)(
    '$name with $modName compiles and matches the JavaScript predicate',
    async ({ mask, scoreMod }, ctx) => {
      if (!device) return ctx.skip(why);
      const n = NQ * NK;
      const scores = Float32Array.from({ length: n }, () => rng.nextNormal() * 8);
      const got = await runOnGpu(device, mask, scoreMod, scores, [1, 2]);
      const jsMask = compileJs(mask);
      const jsScore = compileJs(scoreMod);
      const bad: string[] = [];
      for (let i = 0; i < n; i++) {
        const q = Math.floor(i / NK) - OFFSET;
        const k = (i % NK) - OFFSET;
        const m = jsMask(1, 2, q, k, 0);
        const s = jsScore(1, 2, q, k, scores[i]!);
        if (got.mask[i] !== m) bad.push(`mask q=${q} k=${k}: gpu ${got.mask[i]} js ${m}`);
        if (!(Math.abs(got.score[i]! - s) <= 1e-5 + 1e-5 * Math.abs(s))) {
          bad.push(`score q=${q} k=${k}: gpu ${got.score[i]} js ${s}`);
        }
      }
      expect(bad.slice(0, 8), `${bad.length} mismatches`).toEqual([]);
    },
  );
});
