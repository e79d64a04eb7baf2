import {
  REDUCE_OPS,
  type ReduceAttrs,
  type ReduceOpName,
  type SoftmaxAttrs,
} from '../ops/reduce.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';
import { splitAtAxis } from './indexing.js';

/** Reduce one strided row (`length` values `stride` apart from `start`) to a number. */
type RowReducer = (x: ArrayLike<number>, start: number, length: number, stride: number) => number;

/** Row maximum that lets NaN win, as torch.max does. */
function rowMax(x: ArrayLike<number>, start: number, length: number, stride: number): number {
  let best = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < length; j++) {
    const v = x[start + j * stride]!;
    if (Number.isNaN(v)) return v;
    if (v > best) best = v;
  }
  return best;
}

function rowSum(x: ArrayLike<number>, start: number, length: number, stride: number): number {
  let sum = 0; // float64 accumulation
  for (let j = 0; j < length; j++) sum += x[start + j * stride]!;
  return sum;
}

/** log Σ exp(x) = m + log Σ exp(x - m), with m the row maximum (-inf for an empty row). */
function rowLogSumExp(x: ArrayLike<number>, start: number, length: number, stride: number): number {
  const m = rowMax(x, start, length, stride);
  if (!Number.isFinite(m)) return m;
  let sum = 0;
  for (let j = 0; j < length; j++) sum += Math.exp(x[start + j * stride]! - m);
  return m + Math.log(sum);
}

const REDUCERS: Record<ReduceOpName, RowReducer> = {
  sum: rowSum,
  mean: (x, s, n, st) => rowSum(x, s, n, st) / n,
  max: rowMax,
  min: (x, s, n, st) => {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      const v = x[s + j * st]!;
      if (Number.isNaN(v)) return v;
      if (v < best) best = v;
    }
    return best;
  },
  logsumexp: rowLogSumExp,
  argmax: (x, s, n, st) => {
    let best = 0;
    for (let j = 0; j < n; j++) {
      const v = x[s + j * st]!;
      if (Number.isNaN(v)) return j;
      if (v > x[s + best * st]!) best = j;
    }
    return best;
  },
};

/** Visit every row along `axis` of a tensor of `shape`: its start offset, length and stride. */
function forEachRow(
  shape: readonly number[],
  axis: number,
  visit: (row: number, start: number, length: number, stride: number) => void,
): void {
  const [outer, length, inner] = splitAtAxis(shape, axis);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) visit(o * inner + i, o * length * inner + i, length, inner);
  }
}

export function registerReduceKernels(): void {
  for (const name of REDUCE_OPS) {
    const reducer = REDUCERS[name];
    registerCpuKernel<ReduceAttrs>(name, ({ inputs, attrs }, [out]) => {
      const x = cpuData(inputs[0]!);
      forEachRow(inputs[0]!.shape, attrs.axis, (row, start, length, stride) => {
        out![row] = reducer(x, start, length, stride);
      });
    });
  }

  // Softmax: exp(x - max) / Σ exp(x - max). A row whose maximum is -inf is fully masked and
  // gives zeros (log-softmax: -inf) instead of 0/0.
  for (const log of [false, true]) {
    registerCpuKernel<SoftmaxAttrs>(log ? 'logSoftmax' : 'softmax', ({ inputs, attrs }, [out]) => {
      const x = cpuData(inputs[0]!);
      forEachRow(inputs[0]!.shape, attrs.axis, (_, start, length, stride) => {
        const m = rowMax(x, start, length, stride);
        if (m === Number.NEGATIVE_INFINITY) {
          for (let j = 0; j < length; j++) out![start + j * stride] = log ? m : 0;
          return;
        }
        let sum = 0;
        for (let j = 0; j < length; j++) sum += Math.exp(x[start + j * stride]! - m);
        const logSum = Math.log(sum);
        for (let j = 0; j < length; j++) {
          const shifted = x[start + j * stride]! - m;
          out![start + j * stride] = log ? shifted - logSum : Math.exp(shifted) / sum;
        }
      });
    });
  }
}
