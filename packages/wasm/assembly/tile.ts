// The one register-blocked micro-kernel both matmul and attention are built from: a 4 x 8
// block of C (eight f32x4 accumulators, which leaves registers for two rows of B and one
// broadcast element of A on a 16-register SIMD machine) updated by a rank-k product. A 6 x 8
// block (twelve accumulators) measured 30% slower in V8: it no longer fits and spills.

/**
 * C[r][0..8] (+)= Σ_p A(r, p) · B(p, 0..8) for r < 4, with byte addressing:
 * A(r, p) at `a + r * aRow + p * aStep`, B(p, 0..8) contiguous at `b + p * bStep`,
 * C row r at `c + r * cRow`. With `accumulate` the existing C is added to.
 */
export function tile4x8(
  a: usize,
  aRow: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  k: i32,
  c: usize,
  cRow: usize,
  accumulate: bool,
): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  const aRow2 = aRow * 2;
  const aRow3 = aRow * 3;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    const a1 = v128.load32_splat(a + aRow);
    const a2 = v128.load32_splat(a + aRow2);
    const a3 = v128.load32_splat(a + aRow3);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0));
    c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0));
    c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    a += aStep;
    b += bStep;
  }
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c));
    c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + cRow));
    c11 = f32x4.add(c11, v128.load(c + cRow, 16));
    c20 = f32x4.add(c20, v128.load(c + cRow * 2));
    c21 = f32x4.add(c21, v128.load(c + cRow * 2, 16));
    c30 = f32x4.add(c30, v128.load(c + cRow * 3));
    c31 = f32x4.add(c31, v128.load(c + cRow * 3, 16));
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + cRow, c10);
  v128.store(c + cRow, c11, 16);
  v128.store(c + cRow * 2, c20);
  v128.store(c + cRow * 2, c21, 16);
  v128.store(c + cRow * 3, c30);
  v128.store(c + cRow * 3, c31, 16);
}

/** Round up to a multiple of `m` (a power of two). */
export function roundUp(x: i32, m: i32): i32 {
  return (x + m - 1) & ~(m - 1);
}

/**
 * C (rows x width) (+)= A (rows x k) · B (k x width) on the micro-kernel, rows a multiple of 4
 * and width of 8: A(r, p) at `a + r * aRow + p * aStep`; B(p, 8 columns from 8g) contiguous
 * at `b + g * bPanel + p * bStep` (32 for row-major rows, 32·k for 8-column panels); C row r at
 * `c + r * cRow`.
 */
export function product(
  a: usize,
  aRow: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  bPanel: usize,
  k: i32,
  rows: i32,
  width: i32,
  c: usize,
  cRow: usize,
  accumulate: bool,
): void {
  for (let r = 0; r < rows; r += 4) {
    for (let g = 0; g < width; g += 8) {
      const at = c + <usize>r * cRow + <usize>g * 4;
      tile4x8(
        a + <usize>r * aRow,
        aRow,
        aStep,
        b + (<usize>g >> 3) * bPanel,
        bStep,
        k,
        at,
        cRow,
        accumulate,
      );
    }
  }
}

/**
 * C += A · B as `product` (B row-major, width a multiple of 4) over the A(r, p) that are not 0
 * only: where B holds NaN or ±Infinity, a zero weight must contribute nothing, not 0 · NaN.
 */
export function productSkippingZeros(
  a: usize,
  aRow: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  k: i32,
  rows: i32,
  width: i32,
  c: usize,
  cRow: usize,
): void {
  for (let r = 0; r < rows; r++) {
    const cRowAt = c + <usize>r * cRow;
    for (let p = 0; p < k; p++) {
      const x = load<f32>(a + <usize>r * aRow + <usize>p * aStep);
      if (x === 0) continue;
      const vx = f32x4.splat(x);
      const bRow = b + <usize>p * bStep;
      for (let d = 0; d < width; d += 4) {
        const at = cRowAt + <usize>d * 4;
        v128.store(at, f32x4.add(v128.load(at), f32x4.mul(vx, v128.load(bRow + <usize>d * 4))));
      }
    }
  }
}

/**
 * Rows of `width` floats into 8-row panels for the micro-kernel's B side:
 * dst[panel][p][8] = src[panel * 8 + w][p] for the first `rows` rows, zero up to rows8.
 */
export function packPanels(src: usize, dst: usize, rows: i32, rows8: i32, width: i32): void {
  for (let j = 0; j < rows8; j++) {
    const panel = dst + <usize>((j & ~7) * width + (j & 7)) * 4;
    if (j >= rows) {
      for (let p = 0; p < width; p++) store<f32>(panel + <usize>p * 32, 0);
      continue;
    }
    const from = src + <usize>(j * width) * 4;
    for (let p = 0; p < width; p++)
      store<f32>(panel + <usize>p * 32, load<f32>(from + <usize>p * 4));
  }
}
