import type {
  AttentionDims,
  AttentionModsWgsl,
  BlockSparseAttentionAttrs,
  BlockTables,
  Tensor,
} from '@qkv/tensor';
import { fail } from '../runtime/fail.js';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { type ParamBlock, type ParamFields, paramBlock, textId } from '../wgsl/params.js';
import { ROW_WORKGROUP } from '../wgsl/row-reduce.js';
import { type Binding, COMMON_WGSL, declareBindings, entryPoint, loadFns } from '../wgsl/shader.js';
import { BACKWARD_ROWS, backwardTile } from './attention-backward-tiled.js';
import { modParams, modsFor, packBlocks } from './attention-block-sparse.js';
import { dkvTiled, dqTiled, type TiledPass } from './attention-block-sparse-backward-tiled.js';
import { packFloat16 } from './map-kernel.js';
import { gpuStorage, registerGpuKernel } from './register.js';

// The gradient kernels of block-sparse attention (FlashAttention-2's backward, Dao 2023,
// Algorithm 2, over only the forward's blocks): `blockSparseAttentionLse` and the dQ pass
// walk each query row's key blocks as the forward does; the dK/dV pass walks, for each key
// row, the query blocks that visit its key block, from the block tables transposed on the
// host. Full blocks skip the mask, partial blocks evaluate the mods' inlined WGSL. dQ and
// dK/dV run tiled (attention-block-sparse-backward-tiled.ts) when a tile fits the device's
// workgroup memory, else, like the log-sum-exp pass, one invocation per row. Either way no
// two invocations write one element, so no float atomics are needed; nothing of size L x S
// is allocated.

const FIELDS = {
  heads: 'u32',
  kvHeads: 'u32',
  kvGroup: 'u32',
  qLen: 'u32',
  kvLen: 'u32',
  scale: 'f32',
  maskBatch: 'u32',
  maskHeads: 'u32',
  numQBlocks: 'u32',
  numKvBlocks: 'u32',
  blockQ: 'u32',
  blockKv: 'u32',
  fullIndicesAt: 'u32',
  partialOffsetsAt: 'u32',
  partialIndicesAt: 'u32',
  tFullOffsetsAt: 'u32',
  tFullIndicesAt: 'u32',
  tPartialOffsetsAt: 'u32',
  tPartialIndicesAt: 'u32',
  splits: 'u32',
} as const;

/**
 * The query blocks that visit each key block, per (batch, head) row of `m`, as block tables
 * with the roles of queries and keys swapped (rows `(b·heads + h)·numKvBlocks + kb`).
 */
function transposeTables(m: BlockTables, numKvBlocks: number): BlockTables {
  const rows = m.batch * m.heads;
  const csr = (offsets: Int32Array, indices: Int32Array) => {
    const lists: number[][] = Array.from({ length: rows * numKvBlocks }, () => []);
    for (let bh = 0; bh < rows; bh++) {
      for (let qb = 0; qb < m.numQBlocks; qb++) {
        const r = bh * m.numQBlocks + qb;
        for (let x = offsets[r]!; x < offsets[r + 1]!; x++) {
          lists[bh * numKvBlocks + indices[x]!]!.push(qb);
        }
      }
    }
    const out = new Int32Array(lists.length + 1);
    lists.forEach((l, i) => {
      out[i + 1] = out[i]! + l.length;
    });
    return { offsets: out, indices: Int32Array.from(lists.flat()) };
  };
  const full = csr(m.fullOffsets, m.fullIndices);
  const partial = csr(m.partialOffsets, m.partialIndices);
  return {
    ...m,
    fullOffsets: full.offsets,
    fullIndices: full.indices,
    partialOffsets: partial.offsets,
    partialIndices: partial.indices,
  };
}

/** WGSL every pass shares: bindings, the mods, scoring and the block-list walk. */
function prelude(
  bindings: readonly Binding[],
  outputs: readonly Binding[],
  params: ParamFields,
  mods: AttentionModsWgsl | undefined,
  e: number,
): string {
  const call = (f: string | undefined, otherwise: string, arg = '') =>
    f ? `${f}(${arg}i32(b), i32(h), i32(i), i32(j))` : otherwise;
  const mask = call(mods?.maskFunction, 'true');
  const finish = call(mods?.scoreFunction, 'raw', 'raw, ');
  const grad = call(mods?.scoreGradFunction, '1.0', 'raw, ');
  return [
    declareBindings(bindings, outputs, params),
    COMMON_WGSL,
    loadFns(bindings.slice(0, 6)),
    mods?.code ?? '',
    `fn allowed(b: u32, h: u32, i: u32, j: u32, masked: bool) -> bool { return !masked || ${mask}; }
// The raw score scale·q·k of query row \`row\` (at (b, h, i)) and key row \`kv_row\` (key j).
fn raw_score(row: u32, kv_row: u32) -> f32 {
  var d = 0.0;
  for (var c = 0u; c < ${e}u; c++) { d += f32(load_q(row * ${e}u + c)) * f32(load_k(kv_row * ${e}u + c)); }
  return d * params.scale;
}
// The final score: the score modifier applied to the raw one.
fn finish_score(raw: f32, b: u32, h: u32, i: u32, j: u32) -> f32 { return ${finish}; }
// The score modifier's derivative at the raw score (the chain rule's factor on dS).
fn score_grad(raw: f32, b: u32, h: u32, i: u32, j: u32) -> f32 { return ${grad}; }
// dS = p · (dOut_i · v_j − delta_i) · mod'(raw) · scale: the score modifier's derivative at
// the raw score carries dS back through it (the chain rule).
fn grad_ds(p: f32, dp: f32, delta: f32, raw: f32, b: u32, h: u32, i: u32, j: u32) -> f32 {
  return p * (dp - delta) * score_grad(raw, b, h, i, j) * params.scale;
}
// The block tables fold the dimensions they broadcast over (blockTableRow).
fn table_bh(b: u32, h: u32) -> u32 {
  return (b % params.maskBatch) * params.maskHeads + h % params.maskHeads;
}
// [from, to) of list \`phase\` (0 full, 1 partial) of row r, and where its indices start.
fn list_range(r: u32, phase: u32, transposed: bool) -> vec3u {
  var offsets = select(0u, params.partialOffsetsAt, phase == 1u);
  var indices = select(params.fullIndicesAt, params.partialIndicesAt, phase == 1u);
  if (transposed) {
    offsets = select(params.tFullOffsetsAt, params.tPartialOffsetsAt, phase == 1u);
    indices = select(params.tFullIndicesAt, params.tPartialIndicesAt, phase == 1u);
  }
  return vec3u(u32(blocks[offsets + r]), u32(blocks[offsets + r + 1u]), indices);
}`,
  ].join('\n');
}

/**
 * For each key query row \`row\` attends, `visit` (WGSL statements reading `j`, `kv_row`
 * and the score `s`) runs once; `before` runs first, with b, h, i and row in scope.
 */
function rowWalk(before: string, visit: string): string {
  return `  let row = group * ${ROW_WORKGROUP}u + lid;
  if (row >= params.count) { return; }
  let i = row % params.qLen;
  let bh = row / params.qLen;
  let b = bh / params.heads;
  let h = bh % params.heads;
  let kv_head = b * params.kvHeads + h / params.kvGroup;
  let r = table_bh(b, h) * params.numQBlocks + i / params.blockQ;
${before}
  for (var phase = 0u; phase < 2u; phase++) {
    let range = list_range(r, phase, false);
    for (var x = range.x; x < range.y; x++) {
      let kb = u32(blocks[range.z + x]);
      let end = min(kb * params.blockKv + params.blockKv, params.kvLen);
      for (var j = kb * params.blockKv; j < end; j++) {
        if (!allowed(b, h, i, j, phase == 1u)) { continue; }
        let kv_row = kv_head * params.kvLen + j;
        let raw = raw_score(row, kv_row);
        let s = finish_score(raw, b, h, i, j);
        if (s == neg_inf()) { continue; }
${visit}
      }
    }
  }`;
}

/** p and dS (`grad_ds`) for the pair in scope. */
function pairWgsl(ev: number): string {
  return `        let p = exp(s - lse);
        var dp = 0.0;
        for (var c = 0u; c < ${ev}u; c++) { dp += f32(load_dout(row * ${ev}u + c)) * f32(load_v(kv_row * ${ev}u + c)); }
        let ds = grad_ds(p, dp, load_delta(row), raw, b, h, i, j);`;
}

function lseBody(): string {
  // Online log-sum-exp (Milakov & Gimelshein 2018): one sweep, rescaling the sum as the
  // running maximum grows.
  const body = rowWalk(
    '  var m = neg_inf();\n  var l = 0.0;',
    '        let top = max(m, s);\n        l = l * exp(m - top) + exp(s - top);\n        m = top;',
  );
  return `${body}\n  out[row] = select(m + log(l), neg_inf(), m == neg_inf());`;
}

function dqBody(e: number, ev: number): string {
  const body = rowWalk(
    `  let lse = load_lse(row);
  var acc: array<f32, ${Math.max(e, 1)}>;
  for (var c = 0u; c < ${e}u; c++) { acc[c] = 0.0; }
  if (lse == neg_inf()) {
    for (var c = 0u; c < ${e}u; c++) { dq[row * ${e}u + c] = 0.0; }
    return;
  }`,
    `${pairWgsl(ev)}
        for (var c = 0u; c < ${e}u; c++) { acc[c] += ds * f32(load_k(kv_row * ${e}u + c)); }`,
  );
  return `${body}\n  for (var c = 0u; c < ${e}u; c++) { dq[row * ${e}u + c] = acc[c]; }`;
}

/** dK, dV: one invocation per key row sums over the query rows of every head in its group. */
function dkvBody(e: number, ev: number): string {
  return `  let kv_row = group * ${ROW_WORKGROUP}u + lid;
  if (kv_row >= params.count) { return; }
  let j = kv_row % params.kvLen;
  let bg = kv_row / params.kvLen;
  let b = bg / params.kvHeads;
  let g = bg % params.kvHeads;
  let kb = j / params.blockKv;
  var dk_acc: array<f32, ${Math.max(e, 1)}>;
  var dv_acc: array<f32, ${Math.max(ev, 1)}>;
  for (var c = 0u; c < ${e}u; c++) { dk_acc[c] = 0.0; }
  for (var c = 0u; c < ${ev}u; c++) { dv_acc[c] = 0.0; }
  for (var t = 0u; t < params.kvGroup; t++) {
    let h = g * params.kvGroup + t;
    let r = table_bh(b, h) * params.numKvBlocks + kb;
    for (var phase = 0u; phase < 2u; phase++) {
      let range = list_range(r, phase, true);
      for (var x = range.x; x < range.y; x++) {
        let qb = u32(blocks[range.z + x]);
        let end = min(qb * params.blockQ + params.blockQ, params.qLen);
        for (var i = qb * params.blockQ; i < end; i++) {
          if (!allowed(b, h, i, j, phase == 1u)) { continue; }
          let row = (b * params.heads + h) * params.qLen + i;
          let lse = load_lse(row);
          if (lse == neg_inf()) { continue; }
          let raw = raw_score(row, kv_row);
          let s = finish_score(raw, b, h, i, j);
          if (s == neg_inf()) { continue; }
${pairWgsl(ev)}
          for (var c = 0u; c < ${ev}u; c++) { dv_acc[c] += p * f32(load_dout(row * ${ev}u + c)); }
          for (var c = 0u; c < ${e}u; c++) { dk_acc[c] += ds * f32(load_q(row * ${e}u + c)); }
        }
      }
    }
  }
  for (var c = 0u; c < ${e}u; c++) { dk[kv_row * ${e}u + c] = dk_acc[c]; }
  for (var c = 0u; c < ${ev}u; c++) { dv[kv_row * ${ev}u + c] = dv_acc[c]; }`;
}

/** How a tiled pass lays out its work over the blocks of the side it owns. */
interface Tiling {
  /** Invocations a workgroup: the rows of one slice of an owned block. */
  rows: number;
  /** Rows of the other side staged a time. */
  tile: number;
  /** Workgroups a block (its slices). */
  splits: number;
  /** The pass's workgroup-memory and private declarations. */
  decls: string;
}

/**
 * A gradient pass: when a tile fits workgroup memory (`tile` rows), slices of up to
 * BACKWARD_ROWS rows of each owned block of `own` rows (`blocks` blocks in all), staging the
 * other side's blocks of `other` rows at most a block at a time; else one invocation per row.
 */
function gradPass(
  tile: number | undefined,
  sides: { own: number; other: number; blocks: number },
  tiled: (rows: number, tile: number) => TiledPass,
  perRow: { count: number; body: () => string },
): Pick<Launch, 'count' | 'body' | 'tiled'> {
  if (tile === undefined) return { count: perRow.count, body: perRow.body() };
  const rows = Math.min(BACKWARD_ROWS, sides.own);
  const splits = Math.ceil(sides.own / rows);
  const staged = Math.min(tile, sides.other);
  const pass = tiled(rows, staged);
  return {
    count: sides.blocks * splits,
    body: pass.body,
    tiled: { rows, tile: staged, splits, decls: pass.decls },
  };
}

interface Launch {
  device: WebGPUDevice;
  name: string;
  dims: AttentionDims;
  attrs: BlockSparseAttentionAttrs;
  /** q, k, v, then dOut, lse, delta when present (the lse pass binds k and v for them). */
  inputs: readonly Tensor[];
  outputs: readonly { name: string; size: number }[];
  /** Rows (a per-row pass) or workgroups (a tiled pass): `params.count`. */
  count: number;
  body: string;
  /** A tiled pass's layout; without it one invocation runs per row. */
  tiled?: Tiling;
  /** Whether the pass multiplies by the score modifier's derivative. */
  needsGrad: boolean;
}

/** Upload the tables, check the buffer budget, dispatch one pass and return its outputs. */
function launch(l: Launch): GpuStorage[] {
  const { device, dims: d, attrs } = l;
  const mods = modsFor(attrs);
  if (l.needsGrad && mods?.scoreFunction && !mods.scoreGradFunction) {
    fail(l.name, "the score modifier's WGSL has no derivative (scoreGradFunction)");
  }
  const tables = mods?.tables ?? [];
  const buffers = 7 + tables.length + l.outputs.length + 1;
  const limit = device.limits.maxStorageBuffersPerShaderStage;
  if (buffers > limit) {
    fail(
      l.name,
      `the mask reads ${tables.length} tables, so the kernel needs ${buffers} storage buffers, over this device's maxStorageBuffersPerShaderStage of ${limit}`,
    );
  }
  const outputs = l.outputs.map((o) => device.allocate('float32', o.size, l.name));
  if (l.count === 0) return outputs;
  const m = attrs.blocks;
  const numKvBlocks = Math.ceil(m.kvLen / m.blockKv);
  const forward = packBlocks(m);
  const backward = packBlocks(transposeTables(m, numKvBlocks));
  const packed = new Int32Array(forward.data.length + backward.data.length);
  packed.set(forward.data);
  packed.set(backward.data, forward.data.length);
  const t = forward.data.length;
  const uploads = [
    device.upload(packed, 'int32'),
    ...tables.map((x) =>
      device.upload(x.data, x.data instanceof Float32Array ? 'float32' : 'int32'),
    ),
  ];
  const names = ['q', 'k', 'v', 'dout', 'lse', 'delta'];
  const bindings: Binding[] = [
    ...names.map((name, i) => ({ name, dtype: l.inputs[i]!.dtype })),
    { name: 'blocks', dtype: 'int32' },
    ...tables.map(
      (x): Binding => ({
        name: x.name,
        dtype: x.data instanceof Float32Array ? 'float32' : 'int32',
      }),
    ),
  ];
  const base = paramBlock(FIELDS, {
    heads: d.qHeads,
    kvHeads: d.kvHeads,
    kvGroup: d.groupSize,
    qLen: d.queryLength,
    kvLen: d.kvLength,
    scale: attrs.scale,
    maskBatch: m.batch,
    maskHeads: m.heads,
    numQBlocks: m.numQBlocks,
    numKvBlocks,
    blockQ: m.blockQ,
    blockKv: m.blockKv,
    fullIndicesAt: forward.at[0],
    partialOffsetsAt: forward.at[1],
    partialIndicesAt: forward.at[2],
    tFullOffsetsAt: t,
    tFullIndicesAt: t + backward.at[0],
    tPartialOffsetsAt: t + backward.at[1],
    tPartialIndicesAt: t + backward.at[2],
    splits: l.tiled?.splits ?? 1,
  });
  const params: ParamBlock = modParams(base, mods);
  const outBindings = l.outputs.map((o): Binding => ({ name: o.name, dtype: 'float32' }));
  device.dispatch({
    kernel: l.name,
    spec: {
      pass: l.outputs.map((o) => o.name),
      inputs: bindings.map((b) => `${b.name}=${b.dtype}`),
      e: d.headDim,
      ev: d.valueDim,
      mods: mods ? textId(mods.code) : 'none',
      rows: l.tiled?.rows ?? 0,
      tile: l.tiled?.tile ?? 0,
    },
    source: () =>
      [
        prelude(bindings, outBindings, params.fields, mods, d.headDim),
        l.tiled?.decls ?? '',
        entryPoint(l.tiled?.rows ?? ROW_WORKGROUP, l.body),
      ].join('\n'),
    inputs: [...l.inputs.map(gpuStorage), ...uploads],
    outputs,
    params,
    count: l.count,
    workgroups: l.tiled ? l.count : Math.ceil(l.count / ROW_WORKGROUP),
  });
  for (const u of uploads) device.release(u);
  return outputs;
}

export function registerBlockSparseBackwardKernels(): void {
  registerGpuKernel<BlockSparseAttentionAttrs, AttentionDims>(
    'blockSparseAttentionLse',
    (ctx, device) => {
      const [q, k, v] = ctx.inputs as Tensor[];
      const d = ctx.plan;
      const rows = d.batch * d.qHeads * d.queryLength;
      // The pass binds six inputs; k and v stand in for dOut, lse and delta, never read.
      return launch({
        device,
        name: 'blockSparseAttentionLse',
        dims: d,
        attrs: ctx.attrs,
        inputs: [q!, k!, v!, v!, k!, k!],
        outputs: [{ name: 'out', size: rows }],
        count: rows,
        body: lseBody(),
        needsGrad: false,
      });
    },
  );

  registerGpuKernel<BlockSparseAttentionAttrs, AttentionDims>(
    'blockSparseAttentionBackward',
    (ctx, device) => {
      const inputs = ctx.inputs as Tensor[];
      const d = ctx.plan;
      const rows = d.batch * d.qHeads * d.queryLength;
      const keyRows = d.batch * d.kvHeads * d.kvLength;
      const common = {
        device,
        name: 'blockSparseAttentionBackward',
        dims: d,
        attrs: ctx.attrs,
        inputs,
        needsGrad: true,
      };
      const m = ctx.attrs.blocks;
      const numKvBlocks = Math.ceil(m.kvLen / m.blockKv);
      const tile = backwardTile(
        d.headDim,
        d.valueDim,
        device.limits.maxComputeWorkgroupStorageSize,
      );
      const [e, ev] = [d.headDim, d.valueDim];
      const [dq] = launch({
        ...common,
        outputs: [{ name: 'dq', size: rows * e }],
        ...gradPass(
          tile,
          { own: m.blockQ, other: m.blockKv, blocks: d.batch * d.qHeads * m.numQBlocks },
          (r, t) => dqTiled(e, ev, r, t),
          { count: rows, body: () => dqBody(e, ev) },
        ),
      });
      const [dk, dv] = launch({
        ...common,
        outputs: [
          { name: 'dk', size: keyRows * e },
          { name: 'dv', size: keyRows * ev },
        ],
        ...gradPass(
          tile,
          { own: m.blockKv, other: m.blockQ, blocks: d.batch * d.kvHeads * numKvBlocks },
          (r, t) => dkvTiled(e, ev, r, t),
          { count: keyRows, body: () => dkvBody(e, ev) },
        ),
      });
      const sizes = [rows * d.headDim, keyRows * d.headDim, keyRows * d.valueDim];
      return [dq!, dk!, dv!].map((s, i) =>
        inputs[0]!.dtype === 'float16' ? packFloat16(device, s, sizes[i]!) : s,
      );
    },
  );
}
