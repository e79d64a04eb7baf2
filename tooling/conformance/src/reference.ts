// Float64 reference computations written independently of any backend: each output element
// is computed straight from its definition, with explicit multi-indices. Slow and plain on
// purpose: it is what the backends are checked against.

export type Shape = readonly number[];

export function size(shape: Shape): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Multi-index of flat position `flat` in row-major `shape`. */
export function unravel(flat: number, shape: Shape): number[] {
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return index;
}

export function ravel(index: readonly number[], shape: Shape): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + index[d]!;
  return flat;
}

export function broadcastShape(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[i - (rank - a.length)] ?? 1;
    const db = b[i - (rank - b.length)] ?? 1;
    return da === 1 ? db : da;
  });
}

/** Read `data` of `shape` at an output multi-index, broadcasting from the right. */
export function readBroadcast(
  data: ArrayLike<number>,
  shape: Shape,
  outIndex: readonly number[],
): number {
  const offset = outIndex.length - shape.length;
  const index = shape.map((d, i) => (d === 1 ? 0 : outIndex[i + offset]!));
  return data[ravel(index, shape)]!;
}

export function mapBroadcast(
  inputs: readonly { data: ArrayLike<number>; shape: Shape }[],
  f: (...values: number[]) => number,
): { data: number[]; shape: number[] } {
  const shape = inputs.map((i) => i.shape).reduce<number[]>((s, t) => broadcastShape(s, t), []);
  const data = Array.from({ length: size(shape) }, (_, flat) => {
    const index = unravel(flat, shape);
    return f(...inputs.map((i) => readBroadcast(i.data, i.shape, index)));
  });
  return { data, shape };
}

/** Apply `f` to each row along `axis`; `f` returns one value or a whole row. */
export function alongAxis(
  data: ArrayLike<number>,
  shape: Shape,
  axis: number,
  f: (row: number[]) => number | number[],
): { data: number[]; shape: number[] } {
  const outer = size(shape.slice(0, axis));
  const length = shape[axis]!;
  const inner = size(shape.slice(axis + 1));
  const out: number[] = new Array(outer * inner);
  let rowOutput = false;
  const rows: number[][] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const row = Array.from({ length }, (_, j) => data[(o * length + j) * inner + i]!);
      const r = f(row);
      if (Array.isArray(r)) {
        rowOutput = true;
        rows.push(r);
      } else out[o * inner + i] = r;
    }
  }
  if (!rowOutput) return { data: out, shape: shape.filter((_, d) => d !== axis) };
  const full = new Array<number>(size(shape));
  let r = 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++, r++) {
      rows[r]!.forEach((v, j) => {
        full[(o * length + j) * inner + i] = v;
      });
    }
  }
  return { data: full, shape: [...shape] };
}

export function refMatmul(
  a: ArrayLike<number>,
  aShape: Shape,
  b: ArrayLike<number>,
  bShape: Shape,
  transposeA = false,
  transposeB = false,
): { data: number[]; shape: number[] } {
  const [ar, ac] = aShape.slice(-2) as [number, number];
  const [br, bc] = bShape.slice(-2) as [number, number];
  const m = transposeA ? ac : ar;
  const k = transposeA ? ar : ac;
  const n = transposeB ? br : bc;
  const batch = broadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  const shape = [...batch, m, n];
  // Element of an operand's batch at the output's batch index, broadcasting from the right.
  const batchOf = (operandShape: Shape, batchIndex: readonly number[]) => {
    const operandBatch = operandShape.slice(0, -2);
    const offset = batchIndex.length - operandBatch.length;
    return operandBatch.map((d, i) => (d === 1 ? 0 : batchIndex[i + offset]!));
  };
  const data = Array.from({ length: size(shape) }, (_, flat) => {
    const index = unravel(flat, shape);
    const [i, j] = index.slice(-2) as [number, number];
    const aBatch = batchOf(aShape, index.slice(0, -2));
    const bBatch = batchOf(bShape, index.slice(0, -2));
    let acc = 0;
    for (let p = 0; p < k; p++) {
      const av = a[ravel([...aBatch, ...(transposeA ? [p, i] : [i, p])], aShape)]!;
      const bv = b[ravel([...bBatch, ...(transposeB ? [j, p] : [p, j])], bShape)]!;
      acc += av * bv;
    }
    return acc;
  });
  return { data, shape };
}

export function refSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  if (m === Number.NEGATIVE_INFINITY) return row.map(() => 0);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((p, v) => p + v, 0);
  return e.map((v) => v / s);
}

/** erf to about 1e-15, by its Maclaurin series (fine for the |x| < 6 the tests use). */
export function refErf(x: number): number {
  if (Math.abs(x) > 6) return Math.sign(x);
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/**
 * RoPE in float64 from the `rope` op's contract: angle = f32(f32(p) · f32(invFreq[i])), the
 * pair (a, b) becomes (a·c − b·s, b·c + a·s) with c, s = cos, sin(angle) · scaling; pairs are
 * (i, i + r/2) for `half` (rotate_half) and (2i, 2i+1) for `interleaved` (rotate_every_two),
 * r = 2 · invFreq.length; dims past r are copied. `positionOf(row)` is the position of flat
 * row `row` of x `[rows, dim]`. The one RoPE reference every package's tests use.
 */
export function refRope(
  x: ArrayLike<number>,
  dim: number,
  invFreq: ArrayLike<number>,
  style: 'half' | 'interleaved',
  scaling: number,
  positionOf: (row: number) => number,
): number[] {
  const out = Array.from(x);
  const half = invFreq.length;
  for (let row = 0; row < x.length / dim; row++) {
    const p = Math.fround(positionOf(row));
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * Math.fround(invFreq[i]!));
      const [ia, ib] = style === 'half' ? [i, i + half] : [2 * i, 2 * i + 1];
      const a = x[row * dim + ia]!;
      const b = x[row * dim + ib]!;
      const c = Math.cos(angle) * scaling;
      const s = Math.sin(angle) * scaling;
      out[row * dim + ia] = a * c - b * s;
      out[row * dim + ib] = b * c + a * s;
    }
  }
  return out;
}

/**
 * Position of each flat row of x `[..., S, D]` given ids `[S]` (shared) or, `perBatch`,
 * `[B, S]` (one row of ids per entry of x's first dimension).
 */
export function ropeRowPositions(
  shape: Shape,
  ids: ArrayLike<number>,
  perBatch: boolean,
): (row: number) => number {
  const seq = shape[shape.length - 2]!;
  const rowsPerBatch = size(shape) / shape[shape.length - 1]! / (perBatch ? shape[0]! : 1);
  return (row) =>
    perBatch ? ids[Math.floor(row / rowsPerBatch) * seq + (row % seq)]! : ids[row % seq]!;
}
