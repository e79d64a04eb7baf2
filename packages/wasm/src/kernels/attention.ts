import {
  type AttentionAttrs,
  type AttentionDims,
  debugFlags,
  type KernelFunc,
  registerKernel,
  sizeOf,
  type TypedArray,
} from '@qkv/tensor';
import type { KernelCall } from '../thread-pool.js';
import type { WasmDevice } from '../wasm-device.js';
import { attentionHeads } from './batch.js';
import { extraOperands, headTerms, scoreExtras } from './score-planes.js';

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
      const extras = scoreExtras(inputs.slice(3), attrs, dims);

      const wasm = device.module;
      const { queryLength: l, kvLength: s, headDim: e, valueDim: ev } = dims;
      const operands = [
        ...inputs.slice(0, 3).map((t) => t.storage as TypedArray),
        ...extraOperands(extras),
      ];
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
        const pExtras = pointers.slice(3, operands.length);
        // Unwritten rows must show in tests: module memory holds whatever ran before.
        if (lseSpec && debugFlags.poisonOutputs) wasm.f32(pl!, rows).fill(Number.NaN);
        const calls = scratch.map((scratchAt, t): KernelCall[] => {
          if (t >= blocks) return [];
          return attentionHeads(dims, [pq!, pk!, pv!, po!]).flatMap((head): KernelCall[] => {
            return [
              ['setHeadTerms', headTerms(attrs.softcap, extras, pExtras, head.b)],
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
                  head.h,
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
