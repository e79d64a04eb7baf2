import {
  type AttentionDims,
  type AttentionModsWgsl,
  BLOCK_SPARSE_ATTENTION,
  type BlockSparseAttentionAttrs,
  type BlockTables,
  type Tensor,
} from '@qkv/tensor';
import { fail } from '../runtime/fail.js';
import {
  joinParams,
  type ParamBlock,
  type ParamFields,
  paramBlock,
  textId,
} from '../wgsl/params.js';
import { type Binding, COMMON_WGSL, declareBindings, entryPoint, loadFns } from '../wgsl/shader.js';
import { FLASH_ROWS, flashKeyTile, flashTileWgsl } from './flash-tile.js';
import { packFloat16 } from './map-kernel.js';
import { gpuStorage, registerGpuKernel } from './register.js';

/**
 * Block-sparse flash attention on WebGPU, for the `blockSparseAttention` op of @qkv/tensor.
 * A workgroup owns up to FLASH_ROWS rows of one query block of one (batch, head) and runs
 * the flash tile loop over the key blocks the block tables list for that query block, and
 * only those: full blocks without evaluating the mask, partial blocks through the mask's
 * inlined WGSL (`attrs.mods.wgsl`). Empty blocks cost nothing. Scores are `q·k * scale`,
 * then the score function when the op has a score modifier. With `saveLse` each row's
 * log-sum-exp comes from the same tile loop's running max and sum.
 *
 * The block tables' CSR lists go up as one int32 buffer, `blocks`: fullOffsets |
 * fullIndices | partialOffsets | partialIndices, located by parameters. The mods' tables are
 * read-only storage inputs after it, and their scalars fields of this kernel's parameters.
 * The op's `stats` counters are filled by the CPU backend only; this kernel leaves them
 * unchanged.
 */

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

/** The WGSL of the mods a launch needs: none, or one with the mask when a block is partial. */
export function modsFor(attrs: BlockSparseAttentionAttrs): AttentionModsWgsl | undefined {
  const { blocks, mods } = attrs;
  const needsMask = blocks.partialIndices.length > 0 && mods.mask !== undefined;
  if (!needsMask && !mods.scoreMod) return undefined;
  const wgsl = mods.wgsl;
  if (needsMask && !wgsl?.maskFunction) {
    fail(
      BLOCK_SPARSE_ATTENTION,
      'the block mask has partial blocks and a mask without a WGSL form (a maskFromPredicate(...) mask); use a mask expression on WebGPU',
    );
  }
  if (mods.scoreMod && !wgsl?.scoreFunction) {
    fail(BLOCK_SPARSE_ATTENTION, 'the score modifier has no WGSL form');
  }
  return wgsl;
}

/** The kernel's own parameters plus the mods' scalars. */
export function modParams(base: ParamBlock, mods: AttentionModsWgsl | undefined): ParamBlock {
  if (!mods) return base;
  return joinParams(base, {
    fields: Object.fromEntries(mods.scalars.map((s) => [s.name, s.type])),
    values: Object.fromEntries(mods.scalars.map((s) => [s.name, s.value])),
  });
}

function blockSparseSource(
  params: ParamFields,
  bindings: readonly Binding[],
  mods: AttentionModsWgsl | undefined,
  e: number,
  ev: number,
  bc: number,
  rows: number,
  withLse: boolean,
): string {
  const maskCall = mods?.maskFunction
    ? `${mods.maskFunction}(i32(row_b), i32(row_h), i32(row_i), i32(j))`
    : 'true';
  const finish = mods?.scoreFunction
    ? `${mods.scoreFunction}(s, i32(row_b), i32(row_h), i32(row_i), i32(j))`
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
  // The block tables' row folds the dimensions they broadcast over (blockTableRow).
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
  finish_row((bh * length + i) * ${ev}u);${withLse ? '\n  lse[bh * length + i] = row_lse();' : ''}`;
  const outputs: Binding[] = [{ name: 'out', dtype: 'float32' }];
  if (withLse) outputs.push({ name: 'lse', dtype: 'float32' });
  return [
    declareBindings(bindings, outputs, params),
    COMMON_WGSL,
    loadFns(bindings.slice(0, 3)),
    mods?.code ?? '',
    flashTileWgsl(e, ev, bc, rows),
    `var<private> row_b: u32;
var<private> row_h: u32;
var<private> row_i: u32;
fn key_allowed(j: u32, masked: bool) -> bool { return !masked || ${maskCall}; }
fn key_finish(d: f32, j: u32) -> f32 { let s = d * params.scale; return ${finish}; }`,
    entryPoint(rows, body),
  ].join('\n');
}

/** The block tables' four CSR arrays in one int32 array, and where each part starts. */
export function packBlocks(m: BlockTables): { data: Int32Array; at: [number, number, number] } {
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
  registerGpuKernel<BlockSparseAttentionAttrs, AttentionDims>(
    BLOCK_SPARSE_ATTENTION,
    (ctx, device) => {
      const [q, k, v] = ctx.inputs as [Tensor, Tensor, Tensor];
      const d = ctx.plan;
      const m = ctx.attrs.blocks;
      const size = d.batch * d.qHeads * d.queryLength * d.valueDim;
      // Before any allocation: mods without a WGSL form throw here.
      const mods = modsFor(ctx.attrs);
      const tables = mods?.tables ?? [];
      const buffers = 6 + tables.length;
      const limit = device.limits.maxStorageBuffersPerShaderStage;
      if (buffers > limit) {
        fail(
          BLOCK_SPARSE_ATTENTION,
          `the mask and score modifier read ${tables.length} tables, so the kernel needs ${buffers} storage buffers, over this device's maxStorageBuffersPerShaderStage of ${limit}`,
        );
      }
      const out = device.allocate('float32', size, BLOCK_SPARSE_ATTENTION);
      const withLse = ctx.attrs.saveLse === true;
      const lse = withLse
        ? device.allocate('float32', d.batch * d.qHeads * d.queryLength, BLOCK_SPARSE_ATTENTION)
        : undefined;
      const rows = Math.min(FLASH_ROWS, m.blockQ);
      const splits = Math.ceil(m.blockQ / rows);
      const groups = d.batch * d.qHeads * m.numQBlocks * splits;
      if (groups > 0 && (d.valueDim > 0 || lse)) {
        const packed = packBlocks(m);
        const uploads = [
          device.upload(packed.data, 'int32'),
          ...tables.map((t) =>
            device.upload(t.data, t.data instanceof Float32Array ? 'float32' : 'int32'),
          ),
        ];
        const bindings: Binding[] = [
          { name: 'q', dtype: q.dtype },
          { name: 'k', dtype: k.dtype },
          { name: 'v', dtype: v.dtype },
          { name: 'blocks', dtype: 'int32' },
          ...tables.map(
            (t): Binding => ({
              name: t.name,
              dtype: t.data instanceof Float32Array ? 'float32' : 'int32',
            }),
          ),
        ];
        const bc = flashKeyTile(d.headDim, d.valueDim);
        const base = paramBlock(BLOCK_SPARSE_FIELDS, {
          heads: d.qHeads,
          kvGroup: d.groupSize,
          qLen: d.queryLength,
          kvLen: d.kvLength,
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
        const params = modParams(base, mods);
        device.dispatch({
          kernel: BLOCK_SPARSE_ATTENTION,
          spec: {
            inputs: bindings.map((b) => `${b.name}=${b.dtype}`),
            e: d.headDim,
            ev: d.valueDim,
            bc,
            rows,
            mods: mods ? textId(mods.code) : 'none',
            lse: withLse,
          },
          source: () =>
            blockSparseSource(
              params.fields,
              bindings,
              mods,
              d.headDim,
              d.valueDim,
              bc,
              rows,
              withLse,
            ),
          inputs: [gpuStorage(q), gpuStorage(k), gpuStorage(v), ...uploads],
          outputs: lse ? [out, lse] : [out],
          params,
          count: groups,
          workgroups: groups,
        });
        for (const u of uploads) device.release(u);
      }
      const packed = q.dtype === 'float16' ? packFloat16(device, out, size) : out;
      return lse ? [packed, lse] : [packed];
    },
  );
}
