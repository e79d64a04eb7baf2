import { dotLoop, loadRow, privateRows, storeRow, zeroRow } from './attention-backward-tiled.js';
import { stageRowsWgsl } from './flash-tile.js';

// The tiled passes of block-sparse attention's backward (FlashAttention-2, Dao 2023,
// Algorithm 2, laid out as the block-sparse forward lays out its work): a workgroup owns a
// slice of up to `rows` rows of one block, keeps each row's operands in private memory and
// streams the other side's rows, one listed block at a time, through workgroup-memory tiles
// of `tile` rows. dQ walks a query block's key blocks; dK/dV walks, for every query head of
// the kv head's group, the query blocks of the transposed tables. Full blocks skip the mask;
// partial blocks evaluate the mods' WGSL. Each output element has one writer, so no float
// atomics. The WGSL runs after the prelude of attention-block-sparse-backward.ts (`allowed`,
// `finish_score`, `grad_ds`, `table_bh`, `list_range`), with `params.splits` workgroups a
// block.

/** A tiled pass: its workgroup-memory and private declarations and the entry point's body. */
export interface TiledPass {
  readonly decls: string;
  readonly body: string;
}

/**
 * The opening statements: which block (`blk`, of `count` blocks a (batch, head) `bh`) and
 * slice the workgroup owns, its invocation's index `at` in [0, length), `ok` when that index
 * is a real row of the block, and `clamped` (at, kept in bounds).
 */
function sliceWgsl(rows: number, count: string, block: string, length: string): string {
  return `  if (group >= params.count) { return; }
  let splits = params.splits;
  let sub = group % splits;
  let blk = (group / splits) % ${count};
  let bh = group / (splits * ${count});
  let in_block = sub * ${rows}u + lid;
  let at = blk * ${block} + in_block;
  let ok = in_block < ${block} && at < ${length};
  let clamped = min(at, ${length} - 1u);`;
}

/**
 * `stage(tile, src, dim)`: WGSL by which the workgroup's `rows` invocations copy `count` rows
 * of load_<src> from row `first` (row 0 at `base(dim)`, rows at or past `stop` clamped) into
 * the workgroup array `tile`.
 */
function stager(rows: number, count: number, first: string, base: (dim: number) => string) {
  return (tile: string, src: string, dim: number) =>
    stageRowsWgsl({
      tile,
      src,
      base: base(dim),
      first,
      stop: 'stop',
      dim,
      count,
      invocations: rows,
    });
}

/** [start, stop) of block `blk` of `size` rows out of `length`. */
function blockRange(blk: string, size: string, length: string): string {
  return `let start = ${blk} * ${size};
      let stop = min(start + ${size}, ${length});`;
}

/**
 * dQ: a workgroup per (batch, head, slice of a query block); each listed key block's k and v
 * rows are staged `tile` rows at a time. A row that attends nothing (lse = -inf) stays zero;
 * a masked key's k and v are never read, so NaN there cannot leak.
 */
export function dqTiled(e: number, ev: number, rows: number, tile: number): TiledPass {
  const e4 = Math.ceil(e / 4);
  const v4 = Math.ceil(ev / 4);
  const stage = stager(rows, tile, 't0', (dim) => `kv_head * params.kvLen * ${dim}u`);
  const body = `${sliceWgsl(rows, 'params.numQBlocks', 'params.blockQ', 'params.qLen')}
  let b = bh / params.heads;
  let h = bh % params.heads;
  let i = clamped;
  let row = bh * params.qLen + i;
${loadRow('q_row', 'q', `row * ${e}u`, e)}
${loadRow('do_row', 'dout', `row * ${ev}u`, ev)}
${zeroRow('dq_acc', e)}
  let lse = load_lse(row);
  let delta = load_delta(row);
  let live = ok && lse != neg_inf();
  let kv_head = b * params.kvHeads + h / params.kvGroup;
  let r = table_bh(b, h) * params.numQBlocks + blk;
  for (var phase = 0u; phase < 2u; phase++) {
    let range = list_range(r, phase, false);
    for (var x = range.x; x < range.y; x++) {
      let kb = u32(blocks[range.z + x]);
      ${blockRange('kb', 'params.blockKv', 'params.kvLen')}
      for (var t0 = start; t0 < stop; t0 += ${tile}u) {
        workgroupBarrier();
${stage('tk', 'k', e)}
${stage('tv', 'v', ev)}
        workgroupBarrier();
        // Inside an if, not a continue: the barriers above must stay in uniform control flow.
        if (live) {
          for (var t = 0u; t < min(${tile}u, stop - t0); t++) {
            let j = t0 + t;
            if (!allowed(b, h, i, j, phase == 1u)) { continue; }
            var d = 0.0;
            ${dotLoop('d', 'q_row', '', 'tk', `t * ${e4}u + `, e)}
            let raw = d * params.scale;
            let s = finish_score(raw, b, h, i, j);
            if (s == neg_inf()) { continue; }
            var dp = 0.0;
            ${dotLoop('dp', 'do_row', '', 'tv', `t * ${v4}u + `, ev)}
            let ds = grad_ds(exp(s - lse), dp, delta, raw, b, h, i, j);
            for (var c = 0u; c < ${e4}u; c++) { dq_acc[c] += ds * tk[t * ${e4}u + c]; }
          }
        }
      }
    }
  }
  if (!ok) { return; }
${storeRow('dq', 'dq_acc', `row * ${e}u`, e)}`;
  return {
    decls: [
      privateRows({ q_row: e, do_row: ev, dq_acc: e }),
      `var<workgroup> tk: array<vec4f, ${Math.max(tile * e4, 1)}>;`,
      `var<workgroup> tv: array<vec4f, ${Math.max(tile * v4, 1)}>;`,
    ].join('\n'),
    body,
  };
}

/**
 * dK and dV: a workgroup per (batch, kv head, slice of a key block); for each query head of
 * the group (GQA) it walks the query blocks that visit the key block (the transposed tables),
 * staging q, dOut, lse and delta `tile` rows at a time. Rows that attend nothing add nothing.
 */
export function dkvTiled(e: number, ev: number, rows: number, tile: number): TiledPass {
  const e4 = Math.ceil(e / 4);
  const v4 = Math.ceil(ev / 4);
  const stage = stager(rows, tile, 'i0', (dim) => `q_rows * ${dim}u`);
  const body = `${sliceWgsl(rows, 'params.numKvBlocks', 'params.blockKv', 'params.kvLen')}
  let b = bh / params.kvHeads;
  let g = bh % params.kvHeads;
  let j = clamped;
  let kv_row = bh * params.kvLen + j;
${loadRow('k_row', 'k', `kv_row * ${e}u`, e)}
${loadRow('v_row', 'v', `kv_row * ${ev}u`, ev)}
${zeroRow('dk_acc', e)}
${zeroRow('dv_acc', ev)}
  for (var t = 0u; t < params.kvGroup; t++) {
    let h = g * params.kvGroup + t;
    let q_rows = (b * params.heads + h) * params.qLen;
    let r = table_bh(b, h) * params.numKvBlocks + blk;
    for (var phase = 0u; phase < 2u; phase++) {
      let range = list_range(r, phase, true);
      for (var x = range.x; x < range.y; x++) {
        let qb = u32(blocks[range.z + x]);
        ${blockRange('qb', 'params.blockQ', 'params.qLen')}
        for (var i0 = start; i0 < stop; i0 += ${tile}u) {
          workgroupBarrier();
${stage('tq', 'q', e)}
${stage('tdo', 'dout', ev)}
          for (var y = lid; y < ${tile}u; y += ${rows}u) {
            let row = q_rows + min(i0 + y, stop - 1u);
            t_lse[y] = load_lse(row);
            t_delta[y] = load_delta(row);
          }
          workgroupBarrier();
          if (ok) {
            for (var u = 0u; u < min(${tile}u, stop - i0); u++) {
              let lse = t_lse[u];
              if (lse == neg_inf()) { continue; }
              let i = i0 + u;
              if (!allowed(b, h, i, j, phase == 1u)) { continue; }
              var d = 0.0;
              ${dotLoop('d', 'tq', `u * ${e4}u + `, 'k_row', '', e)}
              let raw = d * params.scale;
              let s = finish_score(raw, b, h, i, j);
              if (s == neg_inf()) { continue; }
              let p = exp(s - lse);
              var dp = 0.0;
              ${dotLoop('dp', 'tdo', `u * ${v4}u + `, 'v_row', '', ev)}
              let ds = grad_ds(p, dp, t_delta[u], raw, b, h, i, j);
              for (var c = 0u; c < ${v4}u; c++) { dv_acc[c] += p * tdo[u * ${v4}u + c]; }
              for (var c = 0u; c < ${e4}u; c++) { dk_acc[c] += ds * tq[u * ${e4}u + c]; }
            }
          }
        }
      }
    }
  }
  if (!ok) { return; }
${storeRow('dk', 'dk_acc', `kv_row * ${e}u`, e)}
${storeRow('dv', 'dv_acc', `kv_row * ${ev}u`, ev)}`;
  return {
    decls: [
      privateRows({ k_row: e, v_row: ev, dk_acc: e, dv_acc: ev }),
      `var<workgroup> tq: array<vec4f, ${Math.max(tile * e4, 1)}>;`,
      `var<workgroup> tdo: array<vec4f, ${Math.max(tile * v4, 1)}>;`,
      `var<workgroup> t_lse: array<f32, ${tile}>;`,
      `var<workgroup> t_delta: array<f32, ${tile}>;`,
    ].join('\n'),
    body,
  };
}
