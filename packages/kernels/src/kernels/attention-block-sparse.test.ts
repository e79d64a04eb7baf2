import {
  alibi,
  and,
  type BlockSparseAttentionOptions,
  bigBird,
  blockSparseAttention,
  causal,
  composeScoreMods,
  createBlockMask,
  documentMask,
  fullMask,
  kvIdx,
  longformer,
  type Mask,
  maskFromPredicate,
  or,
  param,
  qIdx,
  slidingWindow,
  softCap,
} from '@qkv/sparse';
import { type DType, QkvError, toDevice } from '@qkv/tensor';
import { expect } from 'vitest';
import { compareWithCpu, cpuRandn, type Tolerance } from '../testing/compare.js';
import { gpuFixture } from '../testing/gpu-fixture.js';

const gpu = await gpuFixture();
const F32: Tolerance = { atol: 2e-5, rtol: 2e-4 };

interface Case {
  /** [B, H, Hkv, L, S, E, Ev] */
  dims: [number, number, number, number, number, number, number];
  mask: Mask;
  blockQ: number;
  blockKv: number;
  options?: BlockSparseAttentionOptions;
  dtype?: DType;
  tol?: Tolerance;
}

/** The WebGPU kernel against the CPU block-sparse kernel of @qkv/sparse (itself checked dense). */
async function check(c: Case): Promise<void> {
  const [batch, heads, kvHeads, l, s, e, ev] = c.dims;
  const blocks = createBlockMask(c.mask, {
    qLen: l,
    kvLen: s,
    blockQ: c.blockQ,
    blockKv: c.blockKv,
    batch,
    heads,
  });
  const dtype = c.dtype ?? 'float32';
  const inputs = [
    cpuRandn([batch, heads, l, e], dtype),
    cpuRandn([batch, kvHeads, s, e], dtype),
    cpuRandn([batch, kvHeads, s, ev], dtype),
  ];
  await compareWithCpu(
    gpu.device!,
    inputs,
    ([q, k, v]) => blockSparseAttention(q!, k!, v!, blocks, { enableGqa: true, ...c.options }),
    c.tol ?? F32,
    'blockSparseAttention',
  );
  for (const t of inputs) t.dispose();
}

gpu.test('sliding window AND document mask, GQA, sizes off the block grid', async () => {
  const segments = Int32Array.from({ length: 50 }, (_, i) => (i < 17 ? 0 : i < 41 ? 1 : 2));
  await check({
    dims: [2, 2, 1, 50, 50, 12, 7],
    mask: and(slidingWindow(20), documentMask(segments)),
    blockQ: 16,
    blockKv: 16,
  });
});

gpu.test('query blocks over 64 rows, uneven key blocks, ALiBi and softcap score mods', async () => {
  await check({
    dims: [1, 2, 2, 90, 70, 8, 8],
    mask: causal(),
    blockQ: 80,
    blockKv: 24,
    options: { scoreMod: composeScoreMods(alibi(2), softCap(2)), scale: 0.6 },
  });
});

gpu.test('Longformer and BigBird with global tokens; a mask param; float16', async () => {
  await check({
    dims: [1, 1, 1, 40, 40, 6, 5],
    mask: longformer({ radius: 3, global: [0, 9] }),
    blockQ: 8,
    blockKv: 8,
  });
  await check({
    dims: [1, 2, 2, 48, 48, 8, 8],
    mask: or(
      bigBird({
        blockSize: 8,
        seqLen: 48,
        windowBlocks: 3,
        globalBlocks: 1,
        randomBlocks: 1,
        seed: 7,
      }),
      kvIdx.eq(qIdx.add(param('shift', 5))),
    ),
    blockQ: 8,
    blockKv: 8,
    dtype: 'float16',
    tol: { atol: 4e-3, rtol: 4e-3 },
  });
});

gpu.test('rows that attend nothing are zeros; full blocks need no mask code', async () => {
  // Keys 30.. only: query rows < 30 see nothing under the causal part.
  await check({
    dims: [1, 1, 1, 33, 40, 4, 4],
    mask: and(causal(), kvIdx.ge(30)),
    blockQ: 16,
    blockKv: 16,
  });
  // Every block full: a JavaScript predicate is fine since partial blocks never evaluate it.
  await check({
    dims: [1, 1, 1, 20, 20, 4, 4],
    mask: maskFromPredicate(() => true),
    blockQ: 8,
    blockKv: 8,
  });
  await check({ dims: [1, 1, 1, 9, 9, 4, 4], mask: fullMask(), blockQ: 4, blockKv: 4 });
});

gpu.test('a predicate mask with partial blocks is a clear error on WebGPU', async (device) => {
  const mask = maskFromPredicate((_b, _h, i, j) => (i + j) % 3 !== 0);
  const blocks = createBlockMask(mask, { qLen: 8, kvLen: 8, blockSize: 4, batch: 1, heads: 1 });
  const cpuInputs = [cpuRandn([1, 1, 8, 4]), cpuRandn([1, 1, 8, 4]), cpuRandn([1, 1, 8, 4])];
  const [q, k, v] = await Promise.all(cpuInputs.map((t) => toDevice(t, device)));
  expect(() => blockSparseAttention(q!, k!, v!, blocks)).toThrow(QkvError);
  expect(() => blockSparseAttention(q!, k!, v!, blocks)).toThrow(/maskFromPredicate/);
  for (const t of [...cpuInputs, q, k, v]) t!.dispose();
});
