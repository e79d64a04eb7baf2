import {
  attentionDims,
  BLOCK_SPARSE_ATTENTION,
  type BlockMask,
  type BlockSparseAttentionAttrs,
  Expr,
  toWgsl,
  type WgslSnippet,
} from '@qkv/sparse';
import type { Tensor } from '@qkv/tensor';
import { fail } from '../runtime/fail.js';
import { type ParamFields, paramBlock, paramStruct, textId } from '../wgsl/params.js';
import { type Binding, COMMON_WGSL, entryPoint, loadFns } from '../wgsl/shader.js';
import { FLASH_ROWS, flashKeyTile, flashTileWgsl } from './flash-tile.js';
import { packFloat16 } from './map-kernel.js';
import { gpuStorage, registerGpuKernel } from './register.js';

/**
 * Block-sparse flash attention on WebGPU, for the `blockSparseAttention` op of @qkv/sparse.
 * A workgroup owns up to FLASH_ROWS rows of one query block of one (batch, head) and runs
 * the flash tile loop over the key blocks the block mask lists for that query block, and
 * only those: full blocks without evaluating the mask, partial blocks through the mask's
 * inlined WGSL (`mask_mod`, from `toWgsl`). Empty blocks cost nothing. Scores are
 * `q·k * scale`, then `score_mod` when the op has a score modifier.
 *
 * The block mask's CSR lists (see @qkv/sparse's README) go up as one int32 buffer:
 * fullOffsets | fullIndices | partialOffsets | partialIndices, located by parameter words.
 * The snippet's tables follow q, k, v and that buffer as read-only storage; its uniform
 * struct of `param`s is bound as read-only storage too (same layout for 4-byte scalars),
 * since this runtime binds every input as storage. Bindings: q, k, v, the block buffer, one per
 * table, one for the params struct, the output and the parameter words. The op's `stats`
 * counters are filled by the CPU backend only; this kernel leaves them unchanged.
 */

/** The snippet with its bindings placed after ours, or none when no block is partial. */
function maskSnippet(attrs: BlockSparseAttentionAttrs): WgslSnippet | undefined {
  const { blockMask, scoreMod } = attrs;
  const needsMask = blockMask.partialIndices.length > 0;
  if (needsMask && !(blockMask.mask instanceof Expr)) {
    fail(
      BLOCK_SPARSE_ATTENTION,
      'the block mask has partial blocks and a maskFromPredicate(...) mask, which has no WGSL form; use a mask expression on WebGPU',
    );
  }
  const parts = {
    ...(needsMask ? { mask: blockMask.mask as Expr } : {}),
    ...(scoreMod ? { scoreMod } : {}),
  };
  if (!parts.mask && !parts.scoreMod) return undefined;
  const snippet = toWgsl(parts, { group: 0, firstBinding: 4 });
  return { ...snippet, code: snippet.code.replace(/var<uniform>/g, 'var<storage, read>') };
}

const BLOCK_SPARSE_FIELDS = {
  heads: 'u32',
  kvGroup: 'u32',
  qLen: 'u32',
  kvLen: 'u32',
  scale: 'f32',
  maskBatch: 'u32',
  maskHeads: 'u32',
  numQBlocks: 'u32',
  blockQ: 'u32',
  blockKv: 'u32',
  splits: 'u32',
  fullIndicesAt: 'u32',
  partialOffsetsAt: 'u32',
  partialIndicesAt: 'u32',
} as const;

function blockSparseSource(
  params: ParamFields,
  inputs: readonly Binding[],
  snippet: WgslSnippet | undefined,
  e: number,
  ev: number,
  bc: number,
  rows: number,
): string {
  const extra = snippet?.bindings.length ?? 0;
  const declarations = [
    ...inputs.map(
      (b, i) =>
        `@group(0) @binding(${i}) var<storage, read> ${b.name}: array<${b.dtype === 'float32' ? 'f32' : 'u32'}>;`,
    ),
    '@group(0) @binding(3) var<storage, read> blocks: array<i32>;',
    `@group(0) @binding(${4 + extra}) var<storage, read_write> out: array<f32>;`,
    paramStruct(params),
    `@group(0) @binding(${5 + extra}) var<storage, read> params: Params;`,
  ];
  const maskCall = snippet?.maskFunction
    ? `${snippet.maskFunction}(i32(row_b), i32(row_h), i32(row_i), i32(j))`
    : 'true';
  const finish = snippet?.scoreFunction
    ? `${snippet.scoreFunction}(s, i32(row_b), i32(row_h), i32(row_i), i32(j))`
    : 's';
  const body = `  let total = params.count;
  if (group >= total) { return; }
  let splits = params.splits;
  let blocks_q = params.numQBlocks;
  let sub = group % splits;
  let qb = (group / splits) % blocks_q;
  let bh = group / (splits * blocks_q);
  let heads = params.heads;
  // Locals, not the private copies: the analysis treats private variables as non-uniform,
  // and the block loops below hold barriers.
  let b = bh / heads;
  let h = bh % heads;
  row_b = b;
  row_h = h;
  let length = params.qLen;
  let kv_len = params.kvLen;
  let block_q = params.blockQ;
  let block_kv = params.blockKv;
  let i = qb * block_q + sub * ${rows}u + lid;
  let row_ok = lid + sub * ${rows}u < block_q && i < length;
  row_i = min(i, length - 1u);
  start_row((bh * length + row_i) * ${e}u);
  let kv_head = (b * (heads / params.kvGroup) + h / params.kvGroup) * kv_len;
  let k_base = kv_head * ${e}u;
  let v_base = kv_head * ${ev}u;
  // The block mask's row folds the dimensions it broadcasts over (blockRow in @qkv/sparse).
  let r = ((b % params.maskBatch) * params.maskHeads + h % params.maskHeads) * blocks_q + qb;
  let full_at = params.fullIndicesAt;
  for (var x = u32(blocks[r]); x < u32(blocks[r + 1u]); x++) {
    let kb = u32(blocks[full_at + x]);
    visit_keys(lid, k_base, v_base, kb * block_kv, min(kb * block_kv + block_kv, kv_len), false);
  }
  let part_offsets = params.partialOffsetsAt;
  let part_at = params.partialIndicesAt;
  for (var x = u32(blocks[part_offsets + r]); x < u32(blocks[part_offsets + r + 1u]); x++) {
    let kb = u32(blocks[part_at + x]);
    visit_keys(lid, k_base, v_base, kb * block_kv, min(kb * block_kv + block_kv, kv_len), true);
  }
  if (!row_ok) { return; }
  finish_row((bh * length + i) * ${ev}u);`;
  return [
    declarations.join('\n'),
    COMMON_WGSL,
    loadFns(inputs),
    snippet?.code ?? '',
    flashTileWgsl(e, ev, bc, rows),
    `var<private> row_b: u32;
var<private> row_h: u32;
var<private> row_i: u32;
fn key_allowed(j: u32, masked: bool) -> bool { return !masked || ${maskCall}; }
fn key_finish(d: f32, j: u32) -> f32 { let s = d * params.scale; return ${finish}; }`,
    entryPoint(rows, body),
  ].join('\n');
}

/** The block mask's four CSR arrays in one int32 array, and where each part starts. */
function packBlocks(m: BlockMask): { data: Int32Array; at: [number, number, number] } {
  const parts = [m.fullOffsets, m.fullIndices, m.partialOffsets, m.partialIndices];
  const data = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  const starts = parts.map((p) => {
    data.set(p, offset);
    offset += p.length;
    return offset - p.length;
  });
  return { data, at: [starts[1]!, starts[2]!, starts[3]!] };
}

export function registerBlockSparseKernels(): void {
  registerGpuKernel<BlockSparseAttentionAttrs>(BLOCK_SPARSE_ATTENTION, (ctx, device) => {
    const [q, k, v] = ctx.inputs as [Tensor, Tensor, Tensor];
    const d = attentionDims(BLOCK_SPARSE_ATTENTION, q, k, v, true);
    const m = ctx.attrs.blockMask;
    const size = d.batch * d.heads * d.qLen * d.valueDim;
    // Before any allocation: a mask without a WGSL form throws here.
    const snippet = maskSnippet(ctx.attrs);
    const bindings = 6 + (snippet?.bindings.length ?? 0);
    const limit = device.limits.maxStorageBuffersPerShaderStage;
    if (bindings > limit) {
      fail(
        BLOCK_SPARSE_ATTENTION,
        `the mask and score modifier read ${bindings - 6} buffers (tables and params), so the kernel needs ${bindings} storage buffers, over this device's maxStorageBuffersPerShaderStage of ${limit}`,
      );
    }
    const out = device.allocate('float32', size, BLOCK_SPARSE_ATTENTION);
    const rows = Math.min(FLASH_ROWS, m.blockQ);
    const splits = Math.ceil(m.blockQ / rows);
    const groups = d.batch * d.heads * m.numQBlocks * splits;
    if (groups > 0 && d.valueDim > 0) {
      const packed = packBlocks(m);
      const uploads = [
        device.upload(packed.data, 'int32'),
        ...(snippet?.bindings ?? []).map((b) =>
          b.data instanceof Float32Array
            ? device.upload(b.data, 'float32')
            : device.upload(
                new Int32Array(b.data.buffer, b.data.byteOffset, b.data.byteLength / 4),
                'int32',
              ),
        ),
      ];
      const inputs: Binding[] = [
        { name: 'q', dtype: q.dtype },
        { name: 'k', dtype: k.dtype },
        { name: 'v', dtype: v.dtype },
      ];
      const bc = flashKeyTile(d.headDim, d.valueDim);
      const params = paramBlock(BLOCK_SPARSE_FIELDS, {
        heads: d.heads,
        kvGroup: d.heads / d.kvHeads,
        qLen: d.qLen,
        kvLen: d.kvLen,
        scale: ctx.attrs.scale,
        maskBatch: m.batch,
        maskHeads: m.heads,
        numQBlocks: m.numQBlocks,
        blockQ: m.blockQ,
        blockKv: m.blockKv,
        splits,
        fullIndicesAt: packed.at[0],
        partialOffsetsAt: packed.at[1],
        partialIndicesAt: packed.at[2],
      });
      device.dispatch({
        kernel: BLOCK_SPARSE_ATTENTION,
        spec: {
          dtype: q.dtype,
          e: d.headDim,
          ev: d.valueDim,
          bc,
          rows,
          mods: snippet ? textId(snippet.code) : 'none',
        },
        source: () =>
          blockSparseSource(params.fields, inputs, snippet, d.headDim, d.valueDim, bc, rows),
        inputs: [gpuStorage(q), gpuStorage(k), gpuStorage(v), ...uploads],
        outputs: [out],
        params,
        count: groups,
        workgroups: groups,
      });
      for (const u of uploads) device.release(u);
    }
    return [q.dtype === 'float16' ? packFloat16(device, out, size) : out];
  });
}
