import { type CaseGroup, describeGpuConformance, expectClose, expectExact } from '@qkv/conformance';
import { createWebGPUDevice, type Dispatch, type WebGPUDevice } from '@qkv/kernels';
import { Random } from '@qkv/tensor';
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
import { attentionModsWgsl } from './wgsl.js';

// The generated WGSL, in the form the block-sparse kernel inlines (`attentionModsWgsl`: tables
// as storage arrays, params as fields of the kernel's parameters), compiled by a real WebGPU
// implementation and run over a grid of positions, negative ones included (clamped table
// reads), against the JavaScript predicate. Runs through the conformance harness (error
// scopes, poisoned outputs, buffer counts; no adapter fails under QKV_REQUIRE_GPU=1).

const NQ = 37;
const NK = 29;
const OFFSET = 3;

/** Run the mask and score functions for every (q, k) of the grid; returns 0/1 and scores. */
async function runOnGpu(
  device: WebGPUDevice,
  name: string,
  mask: Expr,
  scoreMod: Expr,
  scores: Float32Array,
  [b, h]: [number, number],
) {
  const mods = attentionModsWgsl({ mask, scoreMod });
  const n = NQ * NK;
  // Binding order of `WebGPUDevice.dispatch`: inputs, outputs, then the parameters.
  const inputs = ['in_score', ...mods.tables.map((t) => t.name)];
  const tableType = (data: Float32Array | Int32Array) =>
    data instanceof Float32Array ? 'f32' : 'i32';
  const declarations = [
    '@group(0) @binding(0) var<storage, read> in_score: array<f32>;',
    ...mods.tables.map(
      (t, i) =>
        `@group(0) @binding(${i + 1}) var<storage, read> ${t.name}: array<${tableType(t.data)}>;`,
    ),
    `@group(0) @binding(${inputs.length}) var<storage, read_write> out_mask: array<i32>;`,
    `@group(0) @binding(${inputs.length + 1}) var<storage, read_write> out_score: array<f32>;`,
    `struct Params { count: u32, n_k: u32, b: i32, h: i32, ${mods.scalars.map((p) => `${p.name}: ${p.type},`).join(' ')} }`,
    `@group(0) @binding(${inputs.length + 2}) var<storage, read> params: Params;`,
  ];
  const code = `${declarations.join('\n')}
${mods.code}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.count) { return; }
  let q = i32(i / params.n_k) - ${OFFSET}i;
  let k = i32(i % params.n_k) - ${OFFSET}i;
  out_mask[i] = select(0i, 1i, ${mods.maskFunction}(params.b, params.h, q, k));
  out_score[i] = ${mods.scoreFunction}(in_score[i], params.b, params.h, q, k);
}`;
  const uploads = [
    device.upload(scores, 'float32'),
    ...mods.tables.map((t) =>
      device.upload(t.data, tableType(t.data) === 'f32' ? 'float32' : 'int32'),
    ),
  ];
  const outMask = device.allocate('int32', n, 'mask-grid');
  const outScore = device.allocate('float32', n, 'mask-grid');
  const fields: Record<string, 'u32' | 'i32' | 'f32'> = { n_k: 'u32', b: 'i32', h: 'i32' };
  const values: Record<string, number> = { n_k: NK, b, h };
  for (const p of mods.scalars) {
    fields[p.name] = p.type;
    values[p.name] = p.value;
  }
  const dispatch: Dispatch = {
    kernel: 'mask-grid',
    spec: { case: name },
    source: () => code,
    inputs: uploads,
    outputs: [outMask, outScore],
    params: { fields, values },
    count: n,
    workgroups: Math.ceil(n / 64),
  };
  device.dispatch(dispatch);
  try {
    return {
      mask: await device.read(outMask, 'int32', n),
      score: await device.read(outScore, 'float32', n),
    };
  } finally {
    for (const s of [...uploads, outMask, outScore]) device.release(s);
  }
}

const rng = new Random(1);
const t5 = Float32Array.from({ length: 32 * 3 }, () => rng.nextNormal());
const rel = Float32Array.from({ length: 3 * 9 }, () => rng.nextNormal());
const segments = Int32Array.from({ length: NQ }, (_, i) => Math.floor(i / 4));

// Seven modifiers against seventeen masks: 'param window' (index 14) meets 'param scale'
// (index 0), so the parameters hold an i32 and an f32 field of the mods.
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

const cases: CaseGroup = {};
MASKS.forEach(([name, mask], i) => {
  const [modName, scoreMod] = SCORE_MODS[i % SCORE_MODS.length]!;
  cases[`${name} with ${modName} compiles and matches the JavaScript predicate`] = async (ctx) => {
    const n = NQ * NK;
    const scores = Float32Array.from({ length: n }, () => rng.nextNormal() * 8);
    const got = await runOnGpu(ctx.device as WebGPUDevice, name, mask, scoreMod, scores, [1, 2]);
    const jsMask = compileJs(mask);
    const jsScore = compileJs(scoreMod);
    const grid = Array.from({ length: n }, (_, i) => [
      Math.floor(i / NK) - OFFSET,
      (i % NK) - OFFSET,
    ]);
    expectExact(
      got.mask,
      grid.map(([q, k]) => jsMask(1, 2, q!, k!, 0)),
      'mask',
    );
    const expected = grid.map(([q, k], i) => jsScore(1, 2, q!, k!, scores[i]!));
    expectClose(got.score, expected, { atol: 1e-5, rtol: 1e-5 }, 'score');
  };
});

await describeGpuConformance(() => createWebGPUDevice({ poison: true }), {
  'generated WGSL on a WebGPU device': cases,
});
