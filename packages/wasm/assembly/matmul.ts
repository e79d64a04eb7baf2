import { roundUp, tile4x8 } from './tile';

// Packed GEMM in the style of Goto & van de Geijn, "Anatomy of High-Performance Matrix
// Multiplication" (2008): op(A) is packed into 4-row panels and op(B) into 8-column panels,
// zero-padded, so the micro-kernel streams both with unit stride and never branches on edges.

const MR = 4;
const NR = 8;
/** Rows of A packed per block (MC x KC, in L2) walked against each B micro-panel. */
const MC = 32;
/**
 * Depth of one pass. Every pass after the first reads C back, and measured at 512^3 that
 * costs more than the blocking saves (26 GFLOP/s with KC = 256, 40 with one pass), so C stays
 * in registers over the whole depth up to 1024 (a KC x 8 panel of B is then 32 KiB, in L1).
 */
const KC = 1024;

/** Bytes of scratch `matmul` needs for these sizes. */
export function matmulScratchBytes(m: i32, n: i32, k: i32): i32 {
  const kc = min(k, KC);
  return (min(roundUp(m, MR), MC) * kc + roundUp(n, NR) * kc + MR * NR) * 4;
}

/**
 * C (m x n, row-major, contiguous) = op(A) · op(B), where element (i, p) of op(A) is
 * `a[i * aRs + p * aCs]` and (p, j) of op(B) is `b[p * bRs + j * bCs]` (strides in elements,
 * so transposes are free). `scratch` holds `matmulScratchBytes(m, n, k)` bytes.
 */
export function matmul(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  aRs: i32,
  aCs: i32,
  bRs: i32,
  bCs: i32,
  scratch: usize,
): void {
  if (k === 0) {
    memory.fill(c, 0, <usize>(m * n) * 4);
    return;
  }
  const n8 = roundUp(n, NR);
  const kcMax = min(k, KC);
  const packedB = scratch;
  const packedA = packedB + <usize>(n8 * kcMax) * 4;
  const edge = packedA + <usize>(min(roundUp(m, MR), MC) * kcMax) * 4;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    const accumulate = p0 > 0;
    // Columns of op(B) are the lines of its panels; rows of op(A) the lines of A's.
    packPanels(b + <usize>(p0 * bRs) * 4, packedB, n, kc, bCs, bRs, NR);
    for (let i0 = 0; i0 < m; i0 += MC) {
      const mc = min(MC, m - i0);
      packPanels(a + <usize>(i0 * aRs + p0 * aCs) * 4, packedA, mc, kc, aRs, aCs, MR);
      for (let j = 0; j < n8; j += NR) {
        const bPanel = packedB + <usize>(j * kc) * 4;
        const cols = min(NR, n - j);
        for (let i = 0; i < mc; i += MR) {
          const aPanel = packedA + <usize>(i * kc) * 4;
          const rows = min(MR, mc - i);
          const cTile = c + (<usize>(i0 + i) * n + j) * 4;
          if (rows === MR && cols === NR) {
            tile4x8(aPanel, 4, MR * 4, bPanel, NR * 4, kc, cTile, <usize>n * 4, accumulate);
          } else {
            // Edge tile: compute the full 4 x 8 block in scratch, copy the valid part.
            if (accumulate) copyTile(cTile, <usize>n * 4, edge, NR * 4, rows, cols);
            tile4x8(aPanel, 4, MR * 4, bPanel, NR * 4, kc, edge, NR * 4, accumulate);
            copyTile(edge, NR * 4, cTile, <usize>n * 4, rows, cols);
          }
        }
      }
    }
  }
}

/**
 * Pack `count` lines of a strided matrix into panels of `width` lines:
 * `dst[panel][p][w] = src[(panel * width + w) * lineStride + p * depthStride]`, zero past
 * `count`. Depth-outer order writes the panel sequentially and reads either one row at a
 * time (lineStride 1) or `width` rows in step (depthStride 1), both cache-friendly.
 */
function packPanels(
  src: usize,
  dst: usize,
  count: i32,
  depth: i32,
  lineStride: i32,
  depthStride: i32,
  width: i32,
): void {
  let out = dst;
  for (let l0 = 0; l0 < count; l0 += width) {
    const lines = min(width, count - l0);
    for (let p = 0; p < depth; p++) {
      const base = src + <usize>(l0 * lineStride + p * depthStride) * 4;
      for (let w = 0; w < lines; w++) {
        store<f32>(out + <usize>w * 4, load<f32>(base + <usize>(w * lineStride) * 4));
      }
      for (let w = lines; w < width; w++) store<f32>(out + <usize>w * 4, 0);
      out += <usize>width * 4;
    }
  }
}

function copyTile(
  src: usize,
  srcRow: usize,
  dst: usize,
  dstRow: usize,
  rows: i32,
  cols: i32,
): void {
  for (let r = 0; r < rows; r++) {
    memory.copy(dst + <usize>r * dstRow, src + <usize>r * srcRow, <usize>cols * 4);
  }
}
