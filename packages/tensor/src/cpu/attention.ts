import type { TypedArray } from '../dtype.js';
import type { AttentionAttrs, AttentionDims } from '../ops/attention.js';
import type { KernelContext } from '../registry.js';
import { broadcastStrides, stridesOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';

/** An optional `[B..., Hq, L, S]`-broadcast input, read through its broadcast strides. */
interface ScoreOperand {
  data: TypedArray;
  /** Offset of (b, 0, 0, 0) for each flat batch index b. */
  batchOffsets: number[];
  headStride: number;
  rowStride: number;
  colStride: number;
}

function scoreOperand(t: Tensor, dims: AttentionDims): ScoreOperand {
  const strides = broadcastStrides(t.shape, dims.scoreShape);
  const nb = dims.batchShape.length;
  const batchStrides = stridesOf(dims.batchShape);
  const batchOffsets = Array.from({ length: dims.batch }, (_, b) => {
    let offset = 0;
    for (let d = 0; d < nb; d++) {
      offset += (Math.floor(b / batchStrides[d]!) % dims.batchShape[d]!) * strides[d]!;
    }
    return offset;
  });
  return {
    data: cpuData(t),
    batchOffsets,
    headStride: strides[nb]!,
    rowStride: strides[nb + 1]!,
    colStride: strides[nb + 2]!,
  };
}

/**
 * `x` where float32 can hold it, else the ±Infinity float32 rounds it to: scores follow the
 * float32 range the WebGPU kernels compute in, so q·k beyond ~3.4e38 overflows on every
 * backend (PyTorch's float32 attention overflows the same way).
 */
function float32Range(x: number): number {
  const rounded = Math.fround(x);
  return Number.isFinite(rounded) ? x : rounded;
}

/**
 * `s + term`, except that -Infinity on either side stays -Infinity: a key masked by a float
 * mask of -Infinity is masked whatever its q·k holds (NaN in a masked key must not leak).
 */
function addScore(s: number, term: number): number {
  return s === Number.NEGATIVE_INFINITY || term === Number.NEGATIVE_INFINITY
    ? Number.NEGATIVE_INFINITY
    : s + term;
}

/**
 * Fills one row of scores at a time (float64), exactly as the `attention` op's contract
 * orders it: scale, softcap, additive terms, then bool mask and causal mask as -inf.
 */
export class RowScorer {
  readonly dims: AttentionDims;
  readonly scores: Float64Array;
  readonly #q: TypedArray;
  readonly #k: TypedArray;
  readonly #attrs: AttentionAttrs;
  readonly #boolMask: ScoreOperand | undefined;
  readonly #additive: ScoreOperand[] = [];
  readonly #slopes: TypedArray | undefined;

  constructor(ctx: KernelContext<AttentionAttrs, AttentionDims>, hasValues: boolean) {
    const { inputs, attrs } = ctx;
    const [q, k] = inputs;
    const extras = inputs.slice(hasValues ? 3 : 2);
    this.dims = ctx.plan;
    this.#q = cpuData(q!);
    this.#k = cpuData(k!);
    this.#attrs = attrs;
    this.scores = new Float64Array(this.dims.kvLength);
    let next = 0;
    if (attrs.hasMask) {
      const mask = extras[next++]!;
      if (mask.dtype === 'bool') this.#boolMask = scoreOperand(mask, this.dims);
      else this.#additive.push(scoreOperand(mask, this.dims));
    }
    if (attrs.hasBias) this.#additive.push(scoreOperand(extras[next++]!, this.dims));
    if (attrs.hasAlibi) this.#slopes = cpuData(extras[next++]!);
  }

  /** Score row i of query head h in batch b; returns the row maximum (-inf: fully masked). */
  score(b: number, h: number, i: number): number {
    const { dims, scores } = this;
    const { scale, softcap, isCausal } = this.#attrs;
    const e = dims.headDim;
    const kvHead = Math.floor(h / dims.groupSize);
    const qBase = ((b * dims.qHeads + h) * dims.queryLength + i) * e;
    const kBase = (b * dims.kvHeads + kvHead) * dims.keyCapacity * e;
    const position = i + dims.causalOffset;
    const slope = this.#slopes ? this.#slopes[h]! : 0;
    const mask = this.#boolMask;
    const maskRow = mask ? mask.batchOffsets[b]! + h * mask.headStride + i * mask.rowStride : 0;
    // Locals, not private fields, in the hot loops.
    const qData = this.#q;
    const kData = this.#k;
    const additive = this.#additive;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < dims.kvLength; j++) {
      if ((isCausal && j > position) || (mask && !mask.data[maskRow + j * mask.colStride])) {
        scores[j] = Number.NEGATIVE_INFINITY;
        continue;
      }
      let dot = 0;
      const kRow = kBase + j * e;
      for (let p = 0; p < e; p++) dot += qData[qBase + p]! * kData[kRow + p]!;
      let s = float32Range(float32Range(dot) * scale);
      if (softcap > 0) s = softcap * Math.tanh(s / softcap);
      for (const a of additive) {
        s = addScore(
          s,
          a.data[a.batchOffsets[b]! + h * a.headStride + i * a.rowStride + j * a.colStride]!,
        );
      }
      if (slope !== 0) s -= slope * Math.abs(position - j);
      scores[j] = s;
      // A NaN score makes the row NaN, as a float32 softmax would.
      if (s > max || Number.isNaN(s)) max = Number.isNaN(max) ? max : s;
    }
    return max;
  }

  /** Turn the scored row into exp(s - max) in place and return their sum. */
  exponentiate(max: number): number {
    let sum = 0;
    for (let j = 0; j < this.scores.length; j++) {
      const p = Math.exp(this.scores[j]! - max);
      this.scores[j] = p;
      sum += p;
    }
    return sum;
  }

  /** Visit every (b, h, i) row in row-major output order with its flat row index. */
  forEachRow(visit: (b: number, h: number, i: number, row: number) => void): void {
    const { batch, qHeads, queryLength } = this.dims;
    let row = 0;
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < qHeads; h++) {
        for (let i = 0; i < queryLength; i++) visit(b, h, i, row++);
      }
    }
  }
}

export function registerAttentionKernels(): void {
  // Two passes over one row of scores (score + max, then exp-sum and the weighted sum of v):
  // memory is O(S) per row, never O(L·S).
  // With saveLse the row's log-sum-exp, max + log(sum), comes from the same pass.
  registerCpuKernel<AttentionAttrs, AttentionDims>('attention', (ctx, [out, lse]) => {
    const scorer = new RowScorer(ctx, true);
    const { dims } = scorer;
    const v = cpuData(ctx.inputs[2]!);
    const ev = dims.valueDim;
    const acc = new Float64Array(ev);
    scorer.forEachRow((b, h, i, row) => {
      const max = scorer.score(b, h, i);
      acc.fill(0);
      if (lse) lse[row] = max;
      if (max !== Number.NEGATIVE_INFINITY) {
        const sum = scorer.exponentiate(max);
        if (lse) lse[row] = max + Math.log(sum);
        const vBase = (b * dims.kvHeads + Math.floor(h / dims.groupSize)) * dims.keyCapacity * ev;
        for (let j = 0; j < dims.kvLength; j++) {
          const p = scorer.scores[j]!;
          if (p === 0) continue;
          const vRow = vBase + j * ev;
          for (let c = 0; c < ev; c++) acc[c]! += p * v[vRow + c]!;
        }
        for (let c = 0; c < ev; c++) acc[c]! /= sum;
      }
      out!.set(acc, row * ev);
    });
  });

  registerCpuKernel<AttentionAttrs, AttentionDims>('attentionWeights', (ctx, [out]) => {
    const scorer = new RowScorer(ctx, false);
    const s = scorer.dims.kvLength;
    scorer.forEachRow((b, h, i, row) => {
      const max = scorer.score(b, h, i);
      if (max === Number.NEGATIVE_INFINITY) {
        out!.fill(0, row * s, (row + 1) * s);
        return;
      }
      const sum = scorer.exponentiate(max);
      for (let j = 0; j < s; j++) out![row * s + j] = scorer.scores[j]! / sum;
    });
  });
}
