import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { entryPoint, param } from '../wgsl/shader.js';
import { type AttentionPlan, attentionPrelude, dispatchAttention } from './attention-shader.js';

/** Query rows per workgroup of the fused kernel: one invocation per row. */
export const FLASH_ROWS = 64;
/** Workgroup memory the key and value tiles may use (WebGPU's guaranteed minimum). */
const TILE_BYTES = 16384;

/** Key rows per tile for head dims e and ev (padded to vec4): as many as fit, a power of two. */
export function flashKeyTile(e: number, ev: number): number {
  const rowBytes = (Math.ceil(e / 4) + Math.ceil(ev / 4)) * 16;
  let tile = 1;
  while (tile < 64 && tile * 2 * rowBytes <= TILE_BYTES) tile *= 2;
  return tile;
}

/** `var <name>: vec4f` from four scalars of `load_<src>` at base + 4c, zero past `dim`. */
function load4(src: string, base: string, c: string, dim: number): string {
  const parts = [0, 1, 2, 3].map((p) =>
    dim % 4 === 0
      ? `f32(load_${src}(${base} + ${c} * 4u + ${p}u))`
      : `select(0.0, f32(load_${src}(min(${base} + ${c} * 4u + ${p}u, ${base} + ${dim - 1}u))), ${c} * 4u + ${p}u < ${dim}u)`,
  );
  return `vec4f(${parts.join(', ')})`;
}

/**
 * The fused kernel (FlashAttention-2, Dao 2023, Algorithm 1 with one query row per
 * invocation): a workgroup owns FLASH_ROWS query rows of one (batch, head); it walks key / value
 * tiles of BC rows through workgroup memory, scores the tile, and folds it into a running
 * max m, sum l and f32 accumulator rescaled by exp(m_old - m_new). The L x S scores never
 * exist. Under a causal mask the walk stops at the last key the workgroup's last row may see,
 * so tiles above the diagonal are never loaded. q, the accumulator and the tiles are vec4
 * arrays zero-padded past E / Ev, so padding adds nothing to a dot product.
 */
function flashSource(plan: AttentionPlan, bc: number): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  const e4 = Math.ceil(e / 4);
  const v4 = Math.ceil(ev / 4);
  const br = FLASH_ROWS;
  const body = `  let total = params[0];
  if (group >= total) { return; }
  let tiles = ${param(0)};
  let tile = group % tiles;
  let bh = group / tiles;
  let b = bh / q_heads();
  let h = bh % q_heads();
  let length = query_length();
  let i = tile * ${br}u + lid;
  let row_ok = i < length;
  let ii = min(i, length - 1u);
  let r = score_row(b, h, ii);
  let q_base = (bh * length + ii) * ${e}u;
  var q: array<vec4f, ${Math.max(e4, 1)}>;
  for (var c = 0u; c < ${e4}u; c++) { q[c] = ${load4('q', 'q_base', 'c', e)}; }
  var acc: array<vec4f, ${Math.max(v4, 1)}>;
  var m = neg_inf();
  var l = 0.0;
  let k_base = kv_base(b, h, ${e}u);
  let v_base = kv_base(b, h, ${ev}u);
  // Keys past the last row's diagonal are masked for every row of this workgroup.
  let end = key_end(min(tile * ${br}u + ${br}u, length) - 1u);
  for (var start = 0u; start < end; start += ${bc}u) {
    workgroupBarrier();
    for (var x = lid; x < ${bc * e4}u; x += ${br}u) {
      let j = min(start + x / ${e4}u, end - 1u);
      let c = x % ${e4}u;
      let base = k_base + j * ${e}u;
      tk[x] = ${load4('k', 'base', 'c', e)};
    }
    for (var x = lid; x < ${bc * v4}u; x += ${br}u) {
      let j = min(start + x / ${v4}u, end - 1u);
      let c = x % ${v4}u;
      let base = v_base + j * ${ev}u;
      tv[x] = ${load4('v', 'base', 'c', ev)};
    }
    workgroupBarrier();
    var s: array<f32, ${bc}>;
    var tile_max = neg_inf();
    for (var t = 0u; t < ${bc}u; t++) {
      let j = start + t;
      var score = neg_inf();
      if (j < end && allowed(r, j)) {
        var d = 0.0;
        for (var c = 0u; c < ${e4}u; c++) { d += dot(q[c], tk[t * ${e4}u + c]); }
        score = finish_score(d, r, j);
      }
      s[t] = score;
      tile_max = max(tile_max, score);
    }
    let m_new = max(m, tile_max);
    if (m_new != neg_inf()) {
      let alpha = select(exp(m - m_new), 0.0, m == neg_inf());
      l *= alpha;
      for (var c = 0u; c < ${v4}u; c++) { acc[c] *= alpha; }
      for (var t = 0u; t < ${bc}u; t++) {
        let p = select(exp(s[t] - m_new), 0.0, s[t] == neg_inf());
        l += p;
        for (var c = 0u; c < ${v4}u; c++) { acc[c] += p * tv[t * ${v4}u + c]; }
      }
      m = m_new;
    }
  }
  if (!row_ok) { return; }
  // A row that saw no key (every score -inf) is zeros, as the op's contract says.
  let inv = select(1.0 / l, 0.0, m == neg_inf());
  let o_base = (bh * length + i) * ${ev}u;
  for (var c = 0u; c < ${ev}u; c++) { out[o_base + c] = acc[c / 4u][c % 4u] * inv; }`;
  return [
    attentionPrelude(plan, 'out'),
    `var<workgroup> tk: array<vec4f, ${Math.max(bc * e4, 1)}>;`,
    `var<workgroup> tv: array<vec4f, ${Math.max(bc * v4, 1)}>;`,
    entryPoint(br, body),
  ].join('\n');
}

/** Run the fused kernel; the result is float32 `[B, Hq, L, Ev]` (the caller packs float16). */
export function runFlashAttention(device: WebGPUDevice, plan: AttentionPlan): GpuStorage {
  const { dims } = plan;
  const rows = dims.batch * dims.qHeads * dims.queryLength;
  const out = device.allocate('float32', rows * dims.valueDim, 'attention');
  const tiles = Math.ceil(dims.queryLength / FLASH_ROWS);
  const groups = dims.batch * dims.qHeads * tiles;
  if (groups === 0 || dims.valueDim === 0) return out;
  const bc = flashKeyTile(dims.headDim, dims.valueDim);
  dispatchAttention(device, plan, {
    key: `attention-flash:e${dims.headDim}:ev${dims.valueDim}:bc${bc}`,
    source: () => flashSource(plan, bc),
    output: out,
    groups,
    words: [tiles],
  });
  return out;
}
