import {
  type AttentionAttrs,
  type AttentionDims,
  type KernelContext,
  type KernelFunc,
  registerKernel,
  sizeOf,
  type Tensor,
  type TypedArray,
} from '@qkv/tensor';
import type { KernelCall } from '../thread-pool.js';
import type { WasmDevice } from '../wasm-device.js';
import { extraOperands, headTerms, type ScoreExtras, scoreExtras } from './score-planes.js';

// The gradient ops of `attention` on float32 (assembly/attention-backward.ts): `attentionLse`
// by blocks of query rows, `attentionBackward` by blocks of keys. Other dtypes take the
// reference kernels.

/** Query rows and keys per block of assembly/attention-backward.ts. */
const BQ = 32;
const BK = 32;

/** A unit of work: the calls it makes when thread `t` runs it (its scratch is per thread). */
export type Unit = (t: number) => KernelCall[];

/** Deal `units` over `threads` threads: unit u to thread `threadOf(u)` (round-robin). */
export function deal(
  units: readonly Unit[],
  threads: number,
  threadOf = (u: number) => u % threads,
): KernelCall[][] {
  const calls = Array.from({ length: threads }, (): KernelCall[] => []);
  units.forEach((unit, u) => {
    const t = threadOf(u);
    calls[t]!.push(...unit(t));
  });
  return calls;
}

type Ctx = KernelContext<AttentionAttrs, AttentionDims>;

/** The float32 operands of `ctx`: the first `count` inputs, then the score terms. */
function operandsOf(ctx: Ctx, count: number): { operands: TypedArray[]; extras: ScoreExtras } {
  const extras = scoreExtras(ctx.inputs.slice(count), ctx.attrs, ctx.plan);
  const operands = [
    ...ctx.inputs.slice(0, count).map((t) => t.storage as TypedArray),
    ...extraOperands(extras),
  ];
  return { operands, extras };
}

/** The row log-sum-exp: each (batch, query head, block of BQ rows) is a unit. */
function attentionLse(ctx: Ctx): ReturnType<KernelFunc<AttentionAttrs, AttentionDims>> {
  const { attrs, plan: d } = ctx;
  const device = ctx.device as WasmDevice;
  const wasm = device.module;
  const { queryLength: l, kvLength: s, headDim: e, valueDim: ev } = d;
  const { operands, extras } = operandsOf(ctx, 2);
  const rows = d.batch * d.qHeads * l;
  const scratchBytes = wasm.exports.attentionGradScratchBytes(l, s, e, ev);
  const extra = [rows * 4, ...Array<number>(wasm.threads).fill(scratchBytes)];
  const blocks = Math.ceil(l / BQ);
  const lse = wasm.withOperands(operands, extra, (pointers) => {
    const [pq, pk] = pointers;
    const pExtras = pointers.slice(2, operands.length);
    const [pLse, ...scratch] = pointers.slice(operands.length);
    const units: Unit[] = [];
    for (let b = 0; b < d.batch; b++) {
      const terms = headTerms(attrs.softcap, extras, pExtras, b);
      for (let h = 0; h < d.qHeads; h++) {
        const qHead = b * d.qHeads + h;
        const kvHead = b * d.kvHeads + Math.floor(h / d.groupSize);
        for (let block = 0; block < blocks; block++) {
          units.push((t) => [
            ['setHeadTerms', terms],
            [
              'attentionLseHead',
              [
                pq! + qHead * l * e * 4,
                pk! + kvHead * d.keyCapacity * e * 4,
                pLse! + qHead * l * 4,
                l,
                s,
                e,
                attrs.scale,
                attrs.isCausal ? 1 : 0,
                d.causalOffset,
                h,
                block,
                blocks,
                scratch[t]!,
              ],
            ],
          ]);
        }
      }
    }
    wasm.parallel(deal(units, wasm.threads));
    return wasm.f32(pLse!, rows).slice();
  });
  return [device.upload(lse)];
}

/**
 * dQ, dK, dV: each (batch, key/value head, block of BK keys) is a unit that owns its keys'
 * dK and dV rows. dQ accumulates in module memory (row stride e8, l4 rows per head): with at
 * least as many key/value heads as threads, each thread takes whole heads and one buffer
 * serves all; otherwise (few heads, long sequences) key blocks are dealt round-robin and
 * each thread adds into a buffer of its own, summed here.
 */
function attentionBackward(ctx: Ctx): ReturnType<KernelFunc<AttentionAttrs, AttentionDims>> {
  const { attrs, plan: d } = ctx;
  const device = ctx.device as WasmDevice;
  const wasm = device.module;
  const { queryLength: l, kvLength: s, headDim: e, valueDim: ev, groupSize: group } = d;
  const { operands, extras } = operandsOf(ctx, 6);
  const threads = wasm.threads;
  const { qHeads, dqBytes, kSize, vSize, scratchBytes, byHead, buffers } = gradientLayout(
    wasm,
    d,
    ctx.inputs,
  );
  const blocks = Math.ceil(s / BK);
  const extra = [
    kSize * 4,
    vSize * 4,
    ...Array<number>(buffers).fill(dqBytes),
    ...Array<number>(threads).fill(scratchBytes),
  ];
  return wasm.withOperands(operands, extra, (pointers) => {
    const pExtras = pointers.slice(6, operands.length);
    const [pdk, pdv, ...rest] = pointers.slice(operands.length);
    const operandsAt = [...pointers.slice(0, 6), pdk!, pdv!];
    const dqBuffers = rest.slice(0, buffers);
    const scratch = rest.slice(buffers);
    clearGradients(wasm, { kSize, vSize, dqBytes }, [pdk!, pdv!, ...dqBuffers]);
    const units: Unit[] = [];
    for (let b = 0; b < d.batch; b++) {
      const terms = headTerms(attrs.softcap, extras, pExtras, b);
      for (let g = 0; g < d.kvHeads; g++) {
        const kvHead = b * d.kvHeads + g;
        const qHead = b * d.qHeads + g * group;
        for (let j0 = 0; j0 < s; j0 += BK) {
          units.push((t) => [
            ['setHeadTerms', terms],
            [
              'attentionBackwardBlock',
              [
                ...headOperands(d, operandsAt, qHead, kvHead, dqBuffers[byHead ? 0 : t]!),
                g * group,
                group,
                l,
                s,
                e,
                ev,
                attrs.scale,
                attrs.isCausal ? 1 : 0,
                d.causalOffset,
                j0,
                scratch[t]!,
              ],
            ],
          ]);
        }
      }
    }
    // Units run head by head, `blocks` per head.
    wasm.parallel(
      deal(units, threads, byHead ? (u) => Math.floor(u / blocks) % threads : undefined),
    );
    const dq = collectDq(wasm, dqBuffers, qHeads, l, e);
    return [dq, wasm.f32(pdk!, kSize).slice(), wasm.f32(pdv!, vSize).slice()].map((t) =>
      device.upload(t),
    );
  });
}

/** Sizes of a key-block gradient call: dQ buffers, dK and dV, scratch, and the thread split. */
export function gradientLayout(
  wasm: WasmDevice['module'],
  d: AttentionDims,
  inputs: readonly Tensor[],
): {
  qHeads: number;
  dqBytes: number;
  kSize: number;
  vSize: number;
  scratchBytes: number;
  byHead: boolean;
  buffers: number;
} {
  const { queryLength: l, kvLength: s, headDim: e, valueDim: ev } = d;
  const qHeads = d.batch * d.qHeads;
  // Whole key/value heads per thread when there are enough, sharing one dQ buffer; else
  // units round-robin, each thread adding into a dQ buffer of its own.
  const byHead = d.batch * d.kvHeads >= wasm.threads;
  return {
    qHeads,
    dqBytes: qHeads * (Math.ceil(l / 4) * 4) * (Math.ceil(e / 8) * 8) * 4,
    kSize: sizeOf(inputs[1]!.shape),
    vSize: sizeOf(inputs[2]!.shape),
    scratchBytes: wasm.exports.attentionGradScratchBytes(l, s, e, ev),
    byHead,
    buffers: byHead ? 1 : wasm.threads,
  };
}

/** Keys no query sees, keys past kvLength and the dQ sums start at zero. */
export function clearGradients(
  wasm: WasmDevice['module'],
  sizes: { kSize: number; vSize: number; dqBytes: number },
  [dk, dv, ...dqBuffers]: readonly number[],
): void {
  wasm.f32(dk!, sizes.kSize).fill(0);
  wasm.f32(dv!, sizes.vSize).fill(0);
  for (const at of dqBuffers) wasm.f32(at, sizes.dqBytes / 4).fill(0);
}

/**
 * Byte addresses of one key/value head's gradient operands, in the order of the assembly
 * kernels: q, k, v, dOut, lse, delta, dk, dv (from `at`, in that order; q, dOut, lse and delta
 * of query head `qHead`, the first of the group) and its dQ sums in the buffer at `dq`.
 */
export function headOperands(
  d: AttentionDims,
  at: readonly number[],
  qHead: number,
  kvHead: number,
  dq: number,
): number[] {
  const { queryLength: l, headDim: e, valueDim: ev, keyCapacity } = d;
  const [q, k, v, dOut, lse, delta, dk, dv] = at as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const l4 = Math.ceil(l / 4) * 4;
  const e8 = Math.ceil(e / 8) * 8;
  return [
    q + qHead * l * e * 4,
    k + kvHead * keyCapacity * e * 4,
    v + kvHead * keyCapacity * ev * 4,
    dOut + qHead * l * ev * 4,
    lse + qHead * l * 4,
    delta + qHead * l * 4,
    dk + kvHead * keyCapacity * e * 4,
    dv + kvHead * keyCapacity * ev * 4,
    dq + qHead * l4 * e8 * 4,
  ];
}

/**
 * dQ laid out as q from the dQ sums in module memory (l4 x e8 per query head, one buffer per
 * thread or one for all): one buffer already laid out as q (e a multiple of 8, l of 4) is dQ
 * as it stands.
 */
export function collectDq(
  wasm: WasmDevice['module'],
  dqBuffers: readonly number[],
  qHeads: number,
  l: number,
  e: number,
): Float32Array {
  const l4 = Math.ceil(l / 4) * 4;
  const e8 = Math.ceil(e / 8) * 8;
  if (dqBuffers.length === 1 && e === e8 && l === l4) {
    return wasm.f32(dqBuffers[0]!, qHeads * l * e).slice();
  }
  const dq = new Float32Array(qHeads * l * e);
  for (const at of dqBuffers) {
    const partial = wasm.f32(at, qHeads * l4 * e8);
    for (let row = 0; row < qHeads * l; row++) {
      const from = (Math.floor(row / l) * l4 + (row % l)) * e8;
      const to = row * e;
      for (let c = 0; c < e; c++) dq[to + c]! += partial[from + c]!;
    }
  }
  return dq;
}

/** Register the native `attentionLse` and `attentionBackward` (float32; else `reference`). */
export function registerAttentionBackwardKernels(
  reference: (op: string) => KernelFunc<AttentionAttrs, AttentionDims>,
): void {
  for (const [op, run] of [
    ['attentionLse', attentionLse],
    ['attentionBackward', attentionBackward],
  ] as const) {
    const fallback = reference(op);
    registerKernel<AttentionAttrs, AttentionDims>({
      op,
      backend: 'wasm',
      run: (ctx) => (ctx.inputs[0]!.dtype === 'float32' ? run(ctx) : fallback(ctx)),
    });
  }
}
