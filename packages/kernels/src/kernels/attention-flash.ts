import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { type ParamFields, paramBlock } from '../wgsl/params.js';
import { entryPoint } from '../wgsl/shader.js';
import {
  type AttentionPlan,
  attentionPrelude,
  dispatchAttention,
  queryTileWgsl,
} from './attention-shader.js';
import { FLASH_ROWS, flashKeyTile, flashTileWgsl } from './flash-tile.js';

/**
 * The fused kernel: a workgroup owns FLASH_ROWS query rows of one (batch, head) and walks
 * its keys with the flash tile loop (`flash-tile.ts`); the L x S scores never exist. Under a
 * causal mask the walk stops at the last key the workgroup's last row may see, so tiles
 * above the diagonal are never loaded.
 */
function flashSource(
  plan: AttentionPlan,
  bc: number,
  withLse: boolean,
  params: ParamFields,
): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  const br = FLASH_ROWS;
  const body = `${queryTileWgsl(br)}
  let q_base = (bh * length + ii) * ${e}u;
  start_row(q_base);
  row_ctx = score_row(b, h, ii);
  // Keys past the last row's diagonal are masked for every row of this workgroup.
  let end = key_end(min(tile * ${br}u + ${br}u, length) - 1u);
  visit_keys(lid, kv_base(b, h, ${e}u), kv_base(b, h, ${ev}u), 0u, end, false);
  if (!row_ok) { return; }
  finish_row((bh * length + i) * ${ev}u);${
    withLse
      ? `
  lse[bh * length + i] = row_lse();`
      : ''
  }`;
  return [
    attentionPrelude(plan, withLse ? ['out', 'lse'] : 'out', params),
    flashTileWgsl(e, ev, bc, br),
    `var<private> row_ctx: ScoreRow;
fn key_allowed(j: u32, masked: bool) -> bool { return allowed(row_ctx, j); }
fn key_finish(d: f32, j: u32) -> f32 { return finish_score(d, row_ctx, j); }`,
    entryPoint(br, body),
  ].join('\n');
}

/**
 * Run the fused kernel; the result is float32 `[B, Hq, L, Ev]` (the caller packs float16)
 * and, with `withLse`, each row's float32 log-sum-exp `[B, Hq, L]` from the same pass.
 */
export function runFlashAttention(
  device: WebGPUDevice,
  plan: AttentionPlan,
  withLse = false,
): { out: GpuStorage; lse?: GpuStorage } {
  const { dims } = plan;
  const rows = dims.batch * dims.qHeads * dims.queryLength;
  const out = device.allocate('float32', rows * dims.valueDim, 'attention');
  const lse = withLse ? device.allocate('float32', rows, 'attention') : undefined;
  const tiles = Math.ceil(dims.queryLength / FLASH_ROWS);
  const groups = dims.batch * dims.qHeads * tiles;
  if (groups === 0 || (dims.valueDim === 0 && !lse)) return { out, lse };
  const bc = flashKeyTile(dims.headDim, dims.valueDim);
  dispatchAttention(device, plan, {
    kernel: 'attention-flash',
    spec: { e: dims.headDim, ev: dims.valueDim, bc, lse: withLse },
    source: (fields) => flashSource(plan, bc, withLse, fields),
    output: lse ? [out, lse] : out,
    groups,
    params: paramBlock({ tiles: 'u32' }, { tiles }),
  });
  return { out, lse };
}
