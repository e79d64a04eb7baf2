import {
  type AttentionOptions,
  attention,
  attentionWeights,
  Random,
  type Tensor,
} from '@qkv/tensor';
import { afterEach, expect } from 'vitest';
import { compareWithCpu, type Tolerance } from '../testing/compare.js';
import { gpuFixture } from '../testing/gpu-fixture.js';
import { type Operand, randomOperand } from '../testing/random-operand.js';
import { type AttentionPath, setAttentionPath } from './attention.js';

const gpu = await gpuFixture();
const F32 = { atol: 2e-5, rtol: 2e-4 };
const F16 = { atol: 4e-3, rtol: 4e-3 };

afterEach(() => {
  setAttentionPath('auto');
});

interface Case {
  q: readonly number[];
  k: readonly number[];
  v: readonly number[];
  mask?: Operand;
  bias?: readonly number[];
  slopes?: boolean;
  options?: AttentionOptions;
  dtype?: 'float32' | 'float16';
}

/**
 * Seeded CPU inputs for `operands` (undefined ones skipped), `f` on them and on GPU copies
 * compared; returns the CPU result's values.
 */
async function compareOperands(
  operands: readonly (Operand | undefined)[],
  f: (inputs: (Tensor | undefined)[]) => Tensor,
  tol: Tolerance,
  seed: number,
): Promise<number[]> {
  const present = operands.flatMap((op, j) => (op ? [j] : []));
  const inputs = present.map((j) => randomOperand(operands[j]!, seed * 100 + j));
  const spread = (xs: Tensor[]) =>
    operands.map((_, j) => (present.includes(j) ? xs[present.indexOf(j)] : undefined));
  let reference: number[] = [];
  await compareWithCpu(
    gpu.device!,
    inputs,
    (xs) => {
      const out = f(spread(xs));
      if (xs[0]?.device.backend === 'cpu') reference = Array.from(out.dataSync(), Number);
      return out;
    },
    tol,
  );
  for (const t of inputs) t.dispose();
  return reference;
}

/** attention on the GPU (through `path`) against the CPU reference; returns the reference. */
async function check(path: AttentionPath, c: Case, seed = 1, tol = F32): Promise<number[]> {
  setAttentionPath(path);
  const heads = c.q.length >= 3 ? c.q[c.q.length - 3]! : 1;
  const dtype = c.dtype ?? 'float32';
  const operands: (Operand | undefined)[] = [
    { shape: c.q, dtype },
    { shape: c.k, dtype },
    { shape: c.v, dtype },
    c.mask,
    c.bias ? { shape: c.bias, low: -2, high: 2 } : undefined,
    c.slopes ? { shape: [heads], low: 0.05, high: 0.5 } : undefined,
  ];
  return compareOperands(
    operands,
    ([q, k, v, mask, bias, slopes]) => {
      const options: AttentionOptions = { ...c.options };
      if (mask) options.attnMask = mask;
      if (bias) options.bias = bias;
      if (slopes) options.alibiSlopes = slopes as Tensor;
      return attention(q!, k!, v!, options);
    },
    tol,
    seed,
  );
}

gpu.test('fused: odd L, S, E and Ev across query and key tiles', async () => {
  // L = 70 spans two 64-row query tiles; S = 37 and E = 19 fit no tile or vec4 evenly.
  await check('fused', { q: [2, 2, 70, 19], k: [2, 2, 37, 19], v: [2, 2, 37, 13] });
  await check('fused', { q: [3, 5], k: [41, 5], v: [41, 6] }, 2);
});

gpu.test('fused: causal, both alignments, L > S leaves fully masked rows as zeros', async () => {
  for (const causalAlignment of ['top-left', 'bottom-right'] as const) {
    await check('fused', {
      q: [1, 2, 67, 8],
      k: [1, 2, 80, 8],
      v: [1, 2, 80, 8],
      options: { isCausal: true, causalAlignment },
    });
    const ref = await check('fused', {
      q: [1, 1, 70, 8],
      k: [1, 1, 33, 8],
      v: [1, 1, 33, 4],
      options: { isCausal: true, causalAlignment },
    });
    // bottom-right: rows i < L - S see no key at all; the reference has zeros there.
    if (causalAlignment === 'bottom-right') expect(ref.slice(0, 4)).toEqual([0, 0, 0, 0]);
  }
});

const everything: Case = {
  q: [2, 4, 9, 12],
  k: [2, 2, 30, 12],
  v: [2, 2, 30, 7],
  mask: { shape: [9, 25], kind: 'bool', density: 0.6 },
  bias: [4, 1, 25],
  slopes: true,
  options: {
    enableGqa: true,
    kvLength: 25,
    softcap: 1.5,
    scale: 0.7,
    isCausal: true,
    causalAlignment: 'bottom-right',
  },
};

gpu.test('fused and decode: bool mask, bias, ALiBi, softcap, GQA, kvLength together', async () => {
  await check('fused', everything);
  await check('decode', everything);
  await check('fused', { ...everything, mask: { shape: [2, 1, 9, 25], low: -3, high: 1 } }, 3);
});

gpu.test('bool mask rows with no allowed key, and kvLength 0, give zeros', async () => {
  for (const path of ['fused', 'decode'] as const) {
    const ref = await check(path, {
      q: [1, 1, 6, 4],
      k: [1, 1, 5, 4],
      v: [1, 1, 5, 4],
      mask: { shape: [6, 1], kind: 'bool', density: 0.5 },
    });
    expect(ref.some((x) => x === 0)).toBe(true);
    const empty = await check(path, {
      q: [1, 2, 3, 4],
      k: [1, 2, 5, 4],
      v: [1, 2, 5, 4],
      options: { kvLength: 0 },
    });
    expect(empty.every((x) => x === 0)).toBe(true);
  }
});

gpu.test('decode: L = 1 over many key splits, causal and masked', async () => {
  // S = 300 is several 64-key chunks, split over workgroups and combined.
  await check('auto', { q: [2, 3, 1, 16], k: [2, 3, 300, 16], v: [2, 3, 300, 10] });
  await check('auto', {
    q: [1, 4, 2, 8],
    k: [1, 1, 150, 8],
    v: [1, 1, 150, 8],
    mask: { shape: [1, 1, 1, 140], kind: 'bool', density: 0.8 },
    options: { enableGqa: true, isCausal: true, causalAlignment: 'bottom-right', kvLength: 140 },
  });
});

gpu.test('head dim 256 on both paths', async () => {
  const big: Case = { q: [1, 1, 3, 256], k: [1, 1, 11, 256], v: [1, 1, 11, 256] };
  await check('fused', big);
  await check('decode', big);
});

gpu.test('float16 storage in and out', async () => {
  const half: Case = {
    q: [1, 2, 7, 6],
    k: [1, 2, 13, 6],
    v: [1, 2, 13, 5],
    options: { isCausal: true },
    dtype: 'float16',
  };
  await check('fused', half, 1, F16);
  await check('decode', half, 1, F16);
});

gpu.test('attentionWeights: masks, causal, GQA, kvLength, float16', async () => {
  const weights = async (c: Case, seed: number, tol = F32) => {
    const heads = c.q.length >= 3 ? c.q[c.q.length - 3]! : 1;
    const dtype = c.dtype ?? 'float32';
    return compareOperands(
      [
        { shape: c.q, dtype },
        { shape: c.k, dtype },
        c.mask,
        c.bias ? { shape: c.bias } : undefined,
        c.slopes ? { shape: [heads], low: 0.05, high: 0.5 } : undefined,
      ],
      ([q, k, mask, bias, slopes]) =>
        attentionWeights(q!, k!, {
          ...c.options,
          ...(mask ? { attnMask: mask } : {}),
          ...(bias ? { bias } : {}),
          ...(slopes ? { alibiSlopes: slopes } : {}),
        }),
      tol,
      seed,
    );
  };
  await weights(everything, 4);
  await weights({ q: [5, 3], k: [70, 3], v: [] }, 5);
  await weights({ q: [1, 2, 4, 6], k: [1, 2, 9, 6], v: [], dtype: 'float16' }, 6, F16);
});

gpu.test('random shapes, GQA, masks and causal alignments on both paths', async () => {
  const rng = new Random(2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.nextFloat() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rng.nextFloat() * (hi - lo + 1));
  for (let run = 0; run < 6; run++) {
    const kvHeads = int(1, 2);
    const heads = kvHeads * int(1, 2);
    const l = pick([1, 3, int(5, 70), int(60, 140)]);
    const s = int(1, 90);
    const kvLength = int(0, s);
    const [e, ev] = pick([
      [8, 8],
      [5, 3],
    ] as const);
    const c: Case = {
      q: [2, heads, l, e],
      k: [2, kvHeads, s, e],
      v: [2, kvHeads, s, ev],
      ...(rng.nextFloat() < 0.5
        ? { mask: { shape: [1, heads, l, kvLength], kind: 'bool', density: 0.8 } as Operand }
        : {}),
      options: {
        enableGqa: true,
        kvLength,
        isCausal: rng.nextFloat() < 0.6,
        causalAlignment: pick(['top-left', 'bottom-right'] as const),
      },
    };
    await check(pick(['fused', 'decode', 'auto'] as const), c, 10 + run);
  }
});
