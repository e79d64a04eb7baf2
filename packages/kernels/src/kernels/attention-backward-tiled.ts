import { entryPoint } from '../wgsl/shader.js';
import { type AttentionPlan, queryTileWgsl } from './attention-shader.js';
import { load4, stageRowsWgsl } from './flash-tile.js';

// FlashAttention-2's backward with its tiling (Dao 2023, Algorithm 2): workgroups own a tile
// of rows, keep each row's operands in private memory and stream the other side's rows
// through workgroup-memory tiles, recomputing P = exp(S - lse) and dS = P ∘ (dP - delta) per
// tile. dQ and dK/dV are separate passes (the dQ pass walks key tiles for a tile of query
// rows; the dK/dV pass walks query tiles for a tile of keys), so every output element has
// one writer and no float atomics are needed.

/** Invocations per workgroup: the query rows (dQ) or key rows (dK/dV) a workgroup owns. */
export const BACKWARD_ROWS = 64;
/** The fewest rows a staged tile may hold; below it the per-row kernels run instead. */
const MIN_TILE = 4;

/**
 * Rows per workgroup-memory tile for head dims e / ev: the largest power of two up to
 * BACKWARD_ROWS whose rows (a q or k row and a dOut or v row, vec4-padded, plus lse and
 * delta) fit in `limitBytes` (the device's maxComputeWorkgroupStorageSize); undefined when
 * not even MIN_TILE rows fit.
 */
export function backwardTile(e: number, ev: number, limitBytes: number): number | undefined {
  const rowBytes = (Math.ceil(e / 4) + Math.ceil(ev / 4)) * 16 + 8;
  let tile = 0;
  for (let t = 1; t <= BACKWARD_ROWS && t * rowBytes <= limitBytes; t *= 2) tile = t;
  return tile >= MIN_TILE ? tile : undefined;
}

/** `fn first_row(first_key) -> u32`: the first query row that may see key `first_key`. */
function firstRowWgsl(isCausal: boolean): string {
  // Causal: row i sees key j when j <= i + causal_offset().
  const body = isCausal
    ? 'return u32(clamp(i32(first_key) - causal_offset(), 0, i32(query_length())));'
    : 'return 0u;';
  return `fn first_row(first_key: u32) -> u32 { ${body} }`;
}

/** Private vec4 rows (zero-padded past dim) and a zeroed accumulator, as WGSL declarations. */
export function privateRows(rows: Record<string, number>): string {
  return Object.entries(rows)
    .map(([name, dim]) => `var<private> ${name}: array<vec4f, ${Math.max(Math.ceil(dim / 4), 1)}>;`)
    .join('\n');
}

/** WGSL statements filling private row `name` from `load_<src>` at `base`. */
export function loadRow(name: string, src: string, base: string, dim: number): string {
  return `  for (var c = 0u; c < ${Math.ceil(dim / 4)}u; c++) { ${name}[c] = ${load4(src, base, 'c', dim)}; }`;
}

export function zeroRow(name: string, dim: number): string {
  return `  for (var c = 0u; c < ${Math.ceil(dim / 4)}u; c++) { ${name}[c] = vec4f(0.0); }`;
}

export function storeRow(out: string, name: string, base: string, dim: number): string {
  return `  for (var c = 0u; c < ${dim}u; c++) { ${out}[${base} + c] = ${name}[c / 4u][c % 4u]; }`;
}

/** Σ_c dot(a[a_at + c], b[b_at + c]) over the vec4s of a dim-wide row, as a WGSL expression loop. */
export function dotLoop(
  target: string,
  a: string,
  aAt: string,
  b: string,
  bAt: string,
  dim: number,
) {
  const n = Math.ceil(dim / 4);
  return `for (var c = 0u; c < ${n}u; c++) { ${target} += dot(${a}[${aAt}c], ${b}[${bAt}c]); }`;
}

/**
 * dQ: a workgroup owns BACKWARD_ROWS query rows of one (batch, query head), each invocation
 * its row's q, dOut and dQ accumulator; key/value tiles of `bc` rows are staged through
 * workgroup memory. Under a causal mask the walk stops at the last key the workgroup's last
 * row may see, so tiles above the diagonal are never loaded.
 */
export function dqTiledSource(plan: AttentionPlan, prelude: string, bc: number): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  const e4 = Math.ceil(e / 4);
  const v4 = Math.ceil(ev / 4);
  const br = BACKWARD_ROWS;
  const body = `${queryTileWgsl(br)}
  let row = bh * length + ii;
${loadRow('q_row', 'q', `row * ${e}u`, e)}
${loadRow('do_row', 'dout', `row * ${ev}u`, ev)}
${zeroRow('dq_acc', e)}
  let r = score_row(b, h, ii);
  let lse = load_lse(row);
  let delta = load_delta(row);
  // A fully masked row (lse = -inf) has zero gradient.
  let live = row_ok && lse != neg_inf();
  let k_base = kv_base(b, h, ${e}u);
  let v_base = kv_base(b, h, ${ev}u);
  let stop = key_end(min(tile * ${br}u + ${br}u, length) - 1u);
  for (var t0 = 0u; t0 < stop; t0 += ${bc}u) {
    workgroupBarrier();
${stageRowsWgsl({ tile: 'tk', src: 'k', base: 'k_base', first: 't0', stop: 'stop', dim: e, count: bc, invocations: br })}
${stageRowsWgsl({ tile: 'tv', src: 'v', base: 'v_base', first: 't0', stop: 'stop', dim: ev, count: bc, invocations: br })}
    workgroupBarrier();
    if (live) {
      for (var t = 0u; t < min(${bc}u, stop - t0); t++) {
        let j = t0 + t;
        // A masked key's k and v are never read, so NaN there cannot leak.
        if (!allowed(r, j)) { continue; }
        var d = 0.0;
        ${dotLoop('d', 'q_row', '', 'tk', `t * ${e4}u + `, e)}
        let s = finish_score(d, r, j);
        if (s == neg_inf()) { continue; }
        var dp = 0.0;
        ${dotLoop('dp', 'do_row', '', 'tv', `t * ${v4}u + `, ev)}
        let ds = score_grad(exp(s - lse), dp, delta, d);
        for (var c = 0u; c < ${e4}u; c++) { dq_acc[c] += ds * tk[t * ${e4}u + c]; }
      }
    }
  }
  if (!row_ok) { return; }
${storeRow('dq', 'dq_acc', `row * ${e}u`, e)}`;
  return [
    prelude,
    privateRows({ q_row: e, do_row: ev, dq_acc: e }),
    `var<workgroup> tk: array<vec4f, ${Math.max(bc * e4, 1)}>;`,
    `var<workgroup> tv: array<vec4f, ${Math.max(bc * v4, 1)}>;`,
    entryPoint(br, body),
  ].join('\n');
}

/**
 * dK and dV: a workgroup owns BACKWARD_ROWS key rows of one (batch, kv head), each invocation
 * its key's k, v and both accumulators; it walks the query rows of every query head of the
 * group (GQA) in tiles of `br` rows (q, dOut, lse and delta staged through workgroup memory).
 * Under a causal mask the walk starts at the first row that sees the workgroup's first key.
 * Keys past kvLength get zeros.
 */
export function dkvTiledSource(plan: AttentionPlan, prelude: string, br: number): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  const e4 = Math.ceil(e / 4);
  const v4 = Math.ceil(ev / 4);
  const bc = BACKWARD_ROWS;
  const body = `  if (group >= params.count) { return; }
  let tiles = params.tiles;
  let tile = group % tiles;
  let bg = group / tiles;
  let b = bg / kv_heads();
  let g = bg % kv_heads();
  let cap = key_capacity();
  let j = tile * ${bc}u + lid;
  let key_ok = j < cap;
  let key_row = bg * cap + min(j, cap - 1u);
${loadRow('k_row', 'k', `key_row * ${e}u`, e)}
${loadRow('v_row', 'v', `key_row * ${ev}u`, ev)}
${zeroRow('dk_acc', e)}
${zeroRow('dv_acc', ev)}
  let live = j < kv_length();
  let first_key = tile * ${bc}u;
  let length = query_length();
  if (first_key < kv_length()) {
    let start = first_row(first_key);
    for (var t = 0u; t < group_size(); t++) {
      let h = g * group_size() + t;
      let rows = (b * q_heads() + h) * length;
      for (var i0 = start; i0 < length; i0 += ${br}u) {
        workgroupBarrier();
${stageRowsWgsl({ tile: 'tq', src: 'q', base: `rows * ${e}u`, first: 'i0', stop: 'length', dim: e, count: br, invocations: bc })}
${stageRowsWgsl({ tile: 'tdo', src: 'dout', base: `rows * ${ev}u`, first: 'i0', stop: 'length', dim: ev, count: br, invocations: bc })}
        for (var x = lid; x < ${br}u; x += ${bc}u) {
          let at = rows + min(i0 + x, length - 1u);
          t_lse[x] = load_lse(at);
          t_delta[x] = load_delta(at);
        }
        workgroupBarrier();
        if (live) {
          for (var u = 0u; u < min(${br}u, length - i0); u++) {
            let lse = t_lse[u];
            // A fully masked row (lse = -inf) contributes nothing.
            if (lse == neg_inf()) { continue; }
            let r = score_row(b, h, i0 + u);
            if (!allowed(r, j)) { continue; }
            var d = 0.0;
            ${dotLoop('d', 'tq', `u * ${e4}u + `, 'k_row', '', e)}
            let s = finish_score(d, r, j);
            if (s == neg_inf()) { continue; }
            let p = exp(s - lse);
            var dp = 0.0;
            ${dotLoop('dp', 'tdo', `u * ${v4}u + `, 'v_row', '', ev)}
            let ds = score_grad(p, dp, t_delta[u], d);
            for (var c = 0u; c < ${v4}u; c++) { dv_acc[c] += p * tdo[u * ${v4}u + c]; }
            for (var c = 0u; c < ${e4}u; c++) { dk_acc[c] += ds * tq[u * ${e4}u + c]; }
          }
        }
      }
    }
  }
  if (!key_ok) { return; }
${storeRow('dk', 'dk_acc', `(bg * cap + j) * ${e}u`, e)}
${storeRow('dv', 'dv_acc', `(bg * cap + j) * ${ev}u`, ev)}`;
  return [
    prelude,
    firstRowWgsl(plan.attrs.isCausal),
    privateRows({ k_row: e, v_row: ev, dk_acc: e, dv_acc: ev }),
    `var<workgroup> tq: array<vec4f, ${Math.max(br * e4, 1)}>;`,
    `var<workgroup> tdo: array<vec4f, ${Math.max(br * v4, 1)}>;`,
    `var<workgroup> t_lse: array<f32, ${br}>;`,
    `var<workgroup> t_delta: array<f32, ${br}>;`,
    entryPoint(bc, body),
  ].join('\n');
}
