import { type AttentionAttrs, type AttentionDims, describeValue } from '@qkv/tensor';
import { fail } from '../runtime/fail.js';
import { runDecodeAttention } from './attention-decode.js';
import { runFlashAttention } from './attention-flash.js';
import { planAttention } from './attention-shader.js';
import { runAttentionWeights } from './attention-weights.js';
import { packFloat16 } from './map-kernel.js';
import { registerGpuKernel } from './register.js';

/**
 * Which WebGPU attention kernel runs: `auto` picks split-K decoding for short query lengths
 * (up to DECODE_MAX_QUERIES rows per head, where the fused kernel's one-row-per-invocation
 * workgroups would sit mostly idle) and the fused kernel otherwise. Benchmarks force a path.
 */
export type AttentionPath = 'auto' | 'fused' | 'decode';

/** Query rows per head up to which `auto` takes the decode path. */
export const DECODE_MAX_QUERIES = 4;

let forcedPath: AttentionPath = 'auto';

/** Force the WebGPU attention path (`auto` restores the default choice); returns the previous. */
export function setAttentionPath(path: AttentionPath): AttentionPath {
  if (path !== 'auto' && path !== 'fused' && path !== 'decode') {
    fail(
      'setAttentionPath',
      `path must be 'auto', 'fused' or 'decode', got ${describeValue(path)}`,
    );
  }
  const previous = forcedPath;
  forcedPath = path;
  return previous;
}

/** The path `attention` takes on WebGPU for these dimensions under the current setting. */
export function attentionPath(dims: Pick<AttentionDims, 'queryLength'>): 'fused' | 'decode' {
  if (forcedPath !== 'auto') return forcedPath;
  return dims.queryLength <= DECODE_MAX_QUERIES ? 'decode' : 'fused';
}

export function registerAttentionKernels(): void {
  // With saveLse both paths also write each row's float32 log-sum-exp from their own running
  // max and sum (no second pass over the keys).
  registerGpuKernel<AttentionAttrs, AttentionDims>('attention', (ctx, device) => {
    const plan = planAttention(ctx, true);
    const withLse = ctx.attrs.saveLse === true;
    const size = plan.dims.batch * plan.dims.qHeads * plan.dims.queryLength * plan.dims.valueDim;
    if (attentionPath(plan.dims) === 'decode') {
      const { out, lse } = runDecodeAttention(device, plan, plan.dtype, withLse);
      return lse ? [out, lse] : [out];
    }
    const { out, lse } = runFlashAttention(device, plan, withLse);
    const packed = plan.dtype === 'float16' ? packFloat16(device, out, size) : out;
    return lse ? [packed, lse] : [packed];
  });

  registerGpuKernel<AttentionAttrs, AttentionDims>('attentionWeights', (ctx, device) => {
    const plan = planAttention(ctx, false);
    const out = runAttentionWeights(device, plan);
    const size = plan.dims.batch * plan.dims.qHeads * plan.dims.queryLength * plan.dims.kvLength;
    return [plan.dtype === 'float16' ? packFloat16(device, out, size) : out];
  });
}
