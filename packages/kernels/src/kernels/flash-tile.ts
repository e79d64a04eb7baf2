/**
 * The inner loop of the flash kernels (FlashAttention-2, Dao 2023, Algorithm 1 with one query
 * row per invocation), shared by dense and block-sparse attention. Each invocation keeps its
 * query row, a running max m, sum l and an f32 accumulator in private memory; `visit_keys`
 * walks a key range in tiles of BC rows staged through workgroup memory, scores each tile and
 * folds it in, rescaling by exp(m_old - m_new). The scores of a row never exist beyond one
 * tile. q, the accumulator and the tiles are vec4 arrays zero-padded past E / Ev, so padding
 * adds nothing to a dot product.
 *
 * The kernel using it defines, for the current row (its own private state):
 * - `fn key_allowed(j: u32, masked: bool) -> bool`: key j takes part (masks);
 * - `fn key_finish(dot: f32, j: u32) -> f32`: the final score from q·k.
 */

/** Query rows per workgroup: one invocation per row. */
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

/** A vec4f of four scalars of `load_<src>` at base + 4c, zero past `dim`. */
export function load4(src: string, base: string, c: string, dim: number): string {
  const parts = [0, 1, 2, 3].map((p) =>
    dim % 4 === 0
      ? `f32(load_${src}(${base} + ${c} * 4u + ${p}u))`
      : `select(0.0, f32(load_${src}(min(${base} + ${c} * 4u + ${p}u, ${base} + ${dim - 1}u))), ${c} * 4u + ${p}u < ${dim}u)`,
  );
  return `vec4f(${parts.join(', ')})`;
}

/**
 * WGSL statements by which `invocations` invocations (index `lid`) copy `count` rows of
 * `dim` scalars of `load_<src>`, rows [first, first + count) after row 0 at `base`, into the
 * workgroup array `tile` (vec4s, zero-padded past dim). Rows at or past `stop` repeat row
 * stop - 1 (stop > first), so the copy reads only rows in bounds.
 */
export function stageRowsWgsl(o: {
  tile: string;
  src: string;
  base: string;
  first: string;
  stop: string;
  dim: number;
  count: number;
  invocations: number;
}): string {
  const d4 = Math.ceil(o.dim / 4);
  return `    for (var x = lid; x < ${o.count * d4}u; x += ${o.invocations}u) {
      let base = ${o.base} + min(${o.first} + x / ${d4}u, ${o.stop} - 1u) * ${o.dim}u;
      let c = x % ${d4}u;
      ${o.tile}[x] = ${load4(o.src, 'base', 'c', o.dim)};
    }`;
}

/**
 * WGSL of the tile loop for head dims e / ev, BC = `bc` key rows a tile and `rows`
 * invocations a workgroup: `start_row(q_base)`, `visit_keys(...)` and `finish_row(o_base)`,
 * which writes the row's Ev outputs (zeros for a row that saw no key) to `out`, and
 * `row_lse()`, the row's log-sum-exp.
 */
export function flashTileWgsl(e: number, ev: number, bc: number, rows: number): string {
  const e4 = Math.ceil(e / 4);
  const v4 = Math.ceil(ev / 4);
  return /* wgsl */ `
var<private> q_row: array<vec4f, ${Math.max(e4, 1)}>;
var<private> acc: array<vec4f, ${Math.max(v4, 1)}>;
var<private> m_run: f32;
var<private> l_run: f32;
// A NaN score at a key the row attends makes the row NaN (as a dense softmax does), even when
// max() drops it and its tile would otherwise count as empty.
var<private> saw_nan: bool;
var<workgroup> tk: array<vec4f, ${Math.max(bc * e4, 1)}>;
var<workgroup> tv: array<vec4f, ${Math.max(bc * v4, 1)}>;

fn start_row(q_base: u32) {
  for (var c = 0u; c < ${e4}u; c++) { q_row[c] = ${load4('q', 'q_base', 'c', e)}; }
  for (var c = 0u; c < ${v4}u; c++) { acc[c] = vec4f(0.0); }
  m_run = neg_inf();
  l_run = 0.0;
  saw_nan = false;
}

// Fold keys [start, stop) of the kv head at k_base / v_base (row 0) into the running state.
// Call from uniform control flow: every invocation, the same range.
fn visit_keys(lid: u32, k_base: u32, v_base: u32, start: u32, stop: u32, masked: bool) {
  for (var t0 = start; t0 < stop; t0 += ${bc}u) {
    workgroupBarrier();
${stageRowsWgsl({ tile: 'tk', src: 'k', base: 'k_base', first: 't0', stop: 'stop', dim: e, count: bc, invocations: rows })}
${stageRowsWgsl({ tile: 'tv', src: 'v', base: 'v_base', first: 't0', stop: 'stop', dim: ev, count: bc, invocations: rows })}
    workgroupBarrier();
    var s: array<f32, ${bc}>;
    var tile_max = neg_inf();
    for (var t = 0u; t < ${bc}u; t++) {
      let j = t0 + t;
      var score = neg_inf();
      if (j < stop && key_allowed(j, masked)) {
        var d = 0.0;
        for (var c = 0u; c < ${e4}u; c++) { d += dot(q_row[c], tk[t * ${e4}u + c]); }
        score = key_finish(d, j);
      }
      s[t] = score;
      tile_max = max(tile_max, score);
      if (is_nan(score)) { saw_nan = true; }
    }
    let m_new = max(m_run, tile_max);
    if (m_new != neg_inf()) {
      let alpha = select(exp(m_run - m_new), 0.0, m_run == neg_inf());
      l_run *= alpha;
      for (var c = 0u; c < ${v4}u; c++) { acc[c] *= alpha; }
      for (var t = 0u; t < ${bc}u; t++) {
        let p = select(exp(s[t] - m_new), 0.0, s[t] == neg_inf());
        l_run += p;
        // A key of weight 0 (masked) adds nothing, even NaN or inf in its value.
        if (p != 0.0) { for (var c = 0u; c < ${v4}u; c++) { acc[c] += p * tv[t * ${v4}u + c]; } }
      }
      m_run = m_new;
    }
  }
}

// The row's log-sum-exp from the running max and sum, m + log(l); -inf when it saw no key,
// NaN after a NaN score.
fn row_lse() -> f32 {
  if (saw_nan) { return nan(); }
  return select(m_run + log(l_run), neg_inf(), m_run == neg_inf());
}

// A row that saw no key (every score -inf) is zeros; one that saw a NaN score is NaN.
fn finish_row(o_base: u32) {
  let inv = select(select(1.0 / l_run, 0.0, m_run == neg_inf()), nan(), saw_nan);
  for (var c = 0u; c < ${ev}u; c++) { out[o_base + c] = acc[c / 4u][c % 4u] * inv; }
}`;
}
