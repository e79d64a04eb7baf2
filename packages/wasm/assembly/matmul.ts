import { roundUp, tile4x8 } from './tile';

// Packed GEMM in the style of Goto & van de Geijn, "Anatomy of High-Performance Matrix
// Multiplication" (2008): op(A) is packed into 4-row panels and op(B) into 8-column panels,
// zero-padded, so the micro-kernel streams both with unit stride and never branches on edges.

const MR = 4;
const NR = 8;
/** Rows of packed A walked against one B panel while that panel stays in L1. */
const MC = 64;
/** Depth of one pass: a KC x 8 B panel is 8 KiB, a KC x 64 block of A 64 KiB. */
const KC = 256;

/** Bytes of scratch `matmul` needs for these sizes. */
export function matmulScratchBytes(m: i32, n: i32, k: i32): i32 {
  return (roundUp(m, MR) * k + roundUp(n, NR) * k + MR * NR) * 4;
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
  const m4 = roundUp(m, MR);
  const n8 = roundUp(n, NR);
  const packedA = scratch;
  const packedB = packedA + <usize>(m4 * k) * 4;
  const edge = packedB + <usize>(n8 * k) * 4;
  packPanels(a, packedA, m, k, aRs, aCs, MR);
  packPanels(b, packedB, n, k, bCs, bRs, NR);
  if (k === 0) {
    memory.fill(c, 0, <usize>(m * n) * 4);
    return;
  }
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    const accumulate = p0 > 0;
    for (let i0 = 0; i0 < m4; i0 += MC) {
      const iEnd = min(i0 + MC, m4);
      for (let j = 0; j < n8; j += NR) {
        const bPanel = packedB + (<usize>j * k + <usize>p0 * NR) * 4;
        const cols = min(NR, n - j);
        for (let i = i0; i < iEnd; i += MR) {
          const aPanel = packedA + (<usize>i * k + <usize>p0 * MR) * 4;
          const rows = min(MR, m - i);
          const cTile = c + (<usize>i * n + j) * 4;
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
 * `count`. For A the lines are rows of op(A); for B they are columns of op(B).
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
  for (let l0 = 0; l0 < count; l0 += width) {
    const panel = dst + <usize>(l0 * depth) * 4;
    for (let w = 0; w < width; w++) {
      const line = l0 + w;
      if (line >= count) {
        for (let p = 0; p < depth; p++) store<f32>(panel + <usize>(p * width + w) * 4, 0);
        continue;
      }
      const base = src + <usize>(line * lineStride) * 4;
      for (let p = 0; p < depth; p++) {
        store<f32>(
          panel + <usize>(p * width + w) * 4,
          load<f32>(base + <usize>(p * depthStride) * 4),
        );
      }
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
