import {
  type AttentionAttrs,
  type AttentionDims,
  broadcastStrides,
  debugFlags,
  type KernelFunc,
  registerKernel,
  sizeOf,
  type Tensor,
  type TypedArray,
} from '@qkv/tensor';
import type { KernelCall } from '../thread-pool.js';
import type { WasmDevice } from '../wasm-device.js';
import { attentionHeads, offsetsOver } from './batch.js';

/** A mask or bias, as float32 in module memory, addressed like the `[B..., Hq, L, S]` scores. */
interface ScorePlane {
  values: Float32Array;
  batchOffsets: number[];
  headStride: number;
  rowStride: number;
  colStride: number;
}

/** Bool masks become additive 0 / -inf planes: adding -inf is the op's "may not attend". */
function scorePlane(t: Tensor, dims: AttentionDims): ScorePlane {
  const data = t.storage as TypedArray;
  const values =
    t.dtype === 'bool'
      ? Float32Array.from(data, (x) => (x ? 0 : Number.NEGATIVE_INFINITY))
      : Float32Array.from(data);
  const strides = broadcastStrides(t.shape, dims.scoreShape);
  const nb = dims.batchShape.length;
  const batchOffsets = offsetsOver(dims.batchShape, strides.slice(0, nb));
  return {
    values,
    batchOffsets,
    headStride: strides[nb]!,
    rowStride: strides[nb + 1]!,
    colStride: strides[nb + 2]!,
  };
}

/**
 * The fused `attention` op on float32: for each batch and query head, the flash kernel of
 * assembly/attention.ts with the head's key/value head (GQA), the causal offset, and the
 * optional terms passed as pointers and strides. With `saveLse` the kernel also writes each
 * row's log-sum-exp from its running max and sum.
 */
export function registerAttentionKernel(fallback: KernelFunc<AttentionAttrs, AttentionDims>): void {
  registerKernel<AttentionAttrs, AttentionDims>({
    op: 'attention',
    backend: 'wasm',
    run(ctx) {
      const spec = ctx.outputs[0]!;
      if (spec.dtype !== 'float32') return fallback(ctx);
      const { inputs, attrs } = ctx;
      const device = ctx.device as WasmDevice;
      const dims = ctx.plan;
      const extras = inputs.slice(3);
      const planes: ScorePlane[] = [];
      let next = 0;
      if (attrs.hasMask) planes.push(scorePlane(extras[next++]!, dims));
      if (attrs.hasBias) planes.push(scorePlane(extras[next++]!, dims));
      const slopes = attrs.hasAlibi ? (extras[next++]!.storage as TypedArray) : undefined;

      const wasm = device.module;
      const { queryLength: l, kvLength: s, headDim: e, valueDim: ev } = dims;
      const operands = [...inputs.slice(0, 3).map((t) => t.storage as TypedArray)];
      for (const p of planes) operands.push(p.values);
      const threads = wasm.threads;
      const scratchBytes = wasm.exports.attentionScratchBytes(l, s, e, ev);
      const rows = dims.batch * dims.qHeads * l;
      const lseSpec = ctx.outputs[1];
      const extra = [
        sizeOf(spec.shape) * 4,
        (lseSpec ? rows : 0) * 4,
        ...Array<number>(threads).fill(scratchBytes),
      ];
      // Query blocks of 32 rows (assembly/attention.ts) dealt round-robin over the threads.
      const blocks = Math.ceil(l / 32);
      const results = wasm.withOperands(operands, extra, (pointers) => {
        const [pq, pk, pv] = pointers;
        const [po, pl, ...scratch] = pointers.slice(operands.length);
        const pPlanes = pointers.slice(3, operands.length);
        // Unwritten rows must show in tests: module memory holds whatever ran before.
        if (lseSpec && debugFlags.poisonOutputs) wasm.f32(pl!, rows).fill(Number.NaN);
        const calls = scratch.map((scratchAt, t): KernelCall[] => {
          if (t >= blocks) return [];
          return attentionHeads(dims, [pq!, pk!, pv!, po!]).flatMap((head): KernelCall[] => {
            const slope = slopes ? slopes[head.h]! : 0;
            const terms = scoreTerms(attrs.softcap, slope, planes, pPlanes, head.b, head.h);
            return [
              ['setScoreTerms', terms],
              [
                'attentionHead',
                [
                  head.q,
                  head.k,
                  head.v,
                  head.out,
                  lseSpec ? pl! + head.qHead * l * 4 : 0,
                  l,
                  s,
                  e,
                  ev,
                  attrs.scale,
                  attrs.isCausal ? 1 : 0,
                  dims.causalOffset,
                  t,
                  threads,
                  scratchAt,
                ],
              ],
            ];
          });
        });
        wasm.parallel(calls);
        const out = wasm.f32(po!, sizeOf(spec.shape)).slice();
        return lseSpec ? [out, wasm.f32(pl!, rows).slice()] : [out];
      });
      return results.map((r) => device.upload(r));
    },
  });
}

/** Arguments of `setScoreTerms` for batch b, query head h. */
function scoreTerms(
  softcap: number,
  slope: number,
  planes: readonly ScorePlane[],
  pointers: readonly number[],
  b: number,
  h: number,
): number[] {
  const at = (i: number): [number, number, number] => {
    const p = planes[i];
    if (!p) return [0, 0, 0];
    const base = p.batchOffsets[b]! + h * p.headStride;
    return [pointers[i]! + base * 4, p.rowStride, p.colStride];
  };
  return [softcap, slope, ...at(0), ...at(1)];
}
