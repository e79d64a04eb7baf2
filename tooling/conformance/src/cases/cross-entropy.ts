import { type CrossEntropyOptions, crossEntropy, type DType, valueAndGrads } from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseContext, CaseGroup } from '../harness.js';

// The fused `crossEntropy` and its gradient against a float64 reference written here from
// the definitions of torch.nn.functional.cross_entropy: loss_r = logsumexp(x_r) − x_r[t_r],
// reduced by mean over the targets that are not ignored, sum, or none; the gradient is
// softmax − one-hot, scaled by the upstream gradient (and 1 / count for the mean).

interface CeCase {
  shape: number[];
  reduction: NonNullable<CrossEntropyOptions['reduction']>;
  /** Every this-many-th target is `ignoreIndex` (none when absent). */
  ignoreEvery?: number;
  ignoreIndex?: number;
  /** Logits drawn from [-spread, spread). */
  spread?: number;
  dtype?: DType;
}

function reference(
  x: readonly number[],
  targets: readonly number[],
  classes: number,
  c: CeCase,
  dy: readonly number[],
) {
  const ignoreIndex = c.ignoreIndex ?? -100;
  const rows = targets.map((t, r) => {
    if (t === ignoreIndex) return { loss: 0, grad: new Array<number>(classes).fill(0) };
    const row = x.slice(r * classes, (r + 1) * classes);
    const max = Math.max(...row);
    const sumExp = row.reduce((s, v) => s + Math.exp(v - max), 0);
    const loss = max + Math.log(sumExp) - row[t]!;
    const grad = row.map((v, j) => Math.exp(v - max) / sumExp - (j === t ? 1 : 0));
    return { loss, grad };
  });
  const count = targets.filter((t) => t !== ignoreIndex).length;
  const total = rows.reduce((s, r) => s + r.loss, 0);
  if (c.reduction === 'none') {
    return {
      value: rows.map((r) => r.loss),
      grad: rows.flatMap((r, i) => r.grad.map((g) => g * dy[i]!)),
    };
  }
  const scale = c.reduction === 'sum' ? dy[0]! : dy[0]! / count;
  return {
    value: [c.reduction === 'sum' ? total : total / count],
    grad: rows.flatMap((r) => r.grad.map((g) => g * scale)),
  };
}

async function check(ctx: CaseContext, c: CeCase): Promise<void> {
  const dtype = c.dtype ?? 'float32';
  const spread = c.spread ?? 3;
  const classes = c.shape[c.shape.length - 1]!;
  const lead = c.shape.slice(0, -1);
  const rows = lead.reduce((p, d) => p * d, 1);
  const x = ctx.random(c.shape, { dtype, low: -spread, high: spread });
  const ignoreIndex = c.ignoreIndex ?? -100;
  const targets = Array.from({ length: rows }, (_, r) =>
    c.ignoreEvery && r % c.ignoreEvery === 1 ? ignoreIndex : (r * 7 + 3) % classes,
  );
  const t = ctx.tensor(targets, lead, 'int32');
  const dyShape = c.reduction === 'none' ? lead : [];
  const dy = ctx.random(dyShape, { dtype, low: 0.5, high: 2 });
  const options = {
    reduction: c.reduction,
    ...(c.ignoreIndex !== undefined ? { ignoreIndex } : {}),
  };
  const { value, grads } = valueAndGrads((l) => crossEntropy(l, t, options))([x.t], dy.t);
  const want = reference(x.values, targets, classes, c, dy.values);
  const tol = ctx.tol(dtype);
  expectClose(await ctx.read(value), want.value, tol, `crossEntropy (${c.reduction})`);
  expectClose(await ctx.read(grads[0]!), want.grad, tol, `crossEntropy gradient (${c.reduction})`);
}

export const crossEntropyCases: CaseGroup = {
  'mean over the targets not ignored (-100), 7 rows of 11 classes': (ctx) =>
    check(ctx, { shape: [7, 11], reduction: 'mean', ignoreEvery: 3 }),
  'sum, rank 3, a custom ignoreIndex': (ctx) =>
    check(ctx, { shape: [2, 5, 13], reduction: 'sum', ignoreEvery: 4, ignoreIndex: 2 }),
  'none: a loss per row, upstream gradient per row': (ctx) =>
    check(ctx, { shape: [3, 4, 9], reduction: 'none', ignoreEvery: 5 }),
  'rows of 300 classes (past one invocation per row)': (ctx) =>
    check(ctx, { shape: [5, 300], reduction: 'mean' }),
  'large logits stay finite (logsumexp subtracts the row maximum)': (ctx) =>
    check(ctx, { shape: [4, 37], reduction: 'mean', spread: 80 }),
  'float16 logits': (ctx) => check(ctx, { shape: [6, 17], reduction: 'sum', dtype: 'float16' }),
  'mismatched targets and bad options are named errors': (ctx) => {
    const x = ctx.random([2, 3]).t;
    const wrong = ctx.tensor([0, 1, 2], [3], 'int32');
    expect(() => crossEntropy(x, wrong)).toThrow(
      /crossEntropy: targets \[3\] must be the shape of logits \[2, 3\] without the class/,
    );
    const floats = ctx.tensor([0, 1], [2], 'float32');
    expect(() => crossEntropy(x, floats)).toThrow(/crossEntropy: targets must have dtype int32/);
    const ok = ctx.tensor([0, 1], [2], 'int32');
    expect(() => crossEntropy(x, ok, { reduction: 'avg' as unknown as 'mean' })).toThrow(
      /reduction must be 'mean', 'sum' or 'none', got avg/,
    );
  },
};
