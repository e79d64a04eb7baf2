import {
  type AttentionDims,
  type BlockSparseAttentionAttrs,
  type BlockTables,
  blockTableRow,
  type KernelContext,
  type KernelFunc,
  registerKernel,
  type TypedArray,
} from '@qkv/tensor';
import type { WasmDevice } from '../wasm-device.js';
import {
  clearGradients,
  collectDq,
  deal,
  gradientLayout,
  headOperands,
  type Unit,
} from './attention-backward.js';
import { maskBytesOf, maskEvaluator } from './block-sparse-attention.js';

// `blockSparseAttentionBackward` on float32 (assembly/block-sparse-backward.ts): the forward's
// block tables walked transposed, so each (batch, key/value head, key block) knows the query
// blocks that visit it, and a unit of work owns BK keys of one key block: their dK and dV
// rows, summed over those visits. Keys no query block visits keep zero gradients.

/** Keys per call of assembly/block-sparse-backward.ts (BK of attention-backward.ts). */
const BK = 32;

type Ctx = KernelContext<BlockSparseAttentionAttrs, AttentionDims>;

/**
 * For each (batch, key/value head, key block), flat, the i32 triples (query head within the
 * group, query block, partial block index + 1, or 0 for a full block) of the forward's visits
 * to it: full blocks without the mask, partial ones through their mask bytes.
 */
function transposeVisits(d: AttentionDims, m: BlockTables): number[][] {
  const kvBlocks = Math.ceil(d.kvLength / m.blockKv);
  const lists = Array.from({ length: d.batch * d.kvHeads * kvBlocks }, (): number[] => []);
  for (let b = 0; b < d.batch; b++) {
    for (let h = 0; h < d.qHeads; h++) {
      const base = (b * d.kvHeads + Math.floor(h / d.groupSize)) * kvBlocks;
      const g = h % d.groupSize;
      for (let qb = 0; qb < m.numQBlocks; qb++) {
        const r = blockTableRow(m, b, h, qb);
        for (let j = m.fullOffsets[r]!; j < m.fullOffsets[r + 1]!; j++) {
          lists[base + m.fullIndices[j]!]!.push(g, qb, 0);
        }
        for (let j = m.partialOffsets[r]!; j < m.partialOffsets[r + 1]!; j++) {
          lists[base + m.partialIndices[j]!]!.push(g, qb, j + 1);
        }
      }
    }
  }
  return lists;
}

/** The mask bytes of every partial block, evaluated once per table row, into `view`. */
function evaluateMasks(ctx: Ctx, view: Uint8Array): void {
  const { plan: d, attrs } = ctx;
  const m = attrs.blocks;
  const mask = attrs.mods.mask;
  if (!mask) return;
  const masks = maskEvaluator(m, d, mask, view);
  for (let b = 0; b < d.batch; b++) {
    for (let h = 0; h < d.qHeads; h++) {
      for (let qb = 0; qb < m.numQBlocks; qb++)
        masks.evaluate(blockTableRow(m, b, h, qb), b, h, qb);
    }
  }
}

function blockSparseBackward(
  ctx: Ctx,
): ReturnType<KernelFunc<BlockSparseAttentionAttrs, AttentionDims>> {
  const { attrs, plan: d } = ctx;
  const m = attrs.blocks;
  const device = ctx.device as WasmDevice;
  const wasm = device.module;
  const { queryLength: l, kvLength: s, headDim: e, valueDim: ev, groupSize: group } = d;
  const operands = ctx.inputs.map((t) => t.storage as TypedArray);
  const threads = wasm.threads;
  const { qHeads, dqBytes, kSize, vSize, scratchBytes, byHead, buffers } = gradientLayout(
    wasm,
    d,
    ctx.inputs,
  );
  const maskBytes = attrs.mods.mask ? maskBytesOf(m) : 0;
  const lists = transposeVisits(d, m);
  const visitInts = lists.reduce((n, list) => n + list.length, 0);
  const extra = [
    kSize * 4,
    vSize * 4,
    maskBytes,
    Math.max(visitInts, 1) * 4,
    ...Array<number>(buffers).fill(dqBytes),
    ...Array<number>(threads).fill(scratchBytes),
  ];
  return wasm.withOperands(operands, extra, (pointers) => {
    const [pdk, pdv, pMasks, pVisits, ...rest] = pointers.slice(operands.length);
    const operandsAt = [...pointers.slice(0, 6), pdk!, pdv!];
    const dqBuffers = rest.slice(0, buffers);
    const scratch = rest.slice(buffers);
    clearGradients(wasm, { kSize, vSize, dqBytes }, [pdk!, pdv!, ...dqBuffers]);
    evaluateMasks(ctx, new Uint8Array(wasm.exports.memory.buffer, pMasks!, maskBytes));
    const visits = new Int32Array(wasm.exports.memory.buffer, pVisits!, visitInts);
    const units: Unit[] = [];
    const unitHeads: number[] = [];
    const kvBlocks = Math.ceil(s / m.blockKv);
    let at = 0;
    const area = m.blockQ * m.blockKv;
    for (const [n, list] of lists.entries()) {
      // A partial block's mask bytes, when there is a mask (else it is taken whole).
      for (let x = 2; x < list.length; x += 3) {
        const partial = list[x]!;
        list[x] = partial && maskBytes ? pMasks! + (partial - 1) * area : 0;
      }
      visits.set(list, at);
      const listAt = pVisits! + at * 4;
      at += list.length;
      if (list.length === 0) continue;
      const kvHead = Math.floor(n / kvBlocks);
      const kStart = (n % kvBlocks) * m.blockKv;
      const qHead = Math.floor(kvHead / d.kvHeads) * d.qHeads + (kvHead % d.kvHeads) * group;
      for (let j0 = kStart; j0 < Math.min(kStart + m.blockKv, s); j0 += BK) {
        unitHeads.push(kvHead);
        units.push((t) => [
          [
            'blockSparseBackwardBlock',
            [
              ...headOperands(d, operandsAt, qHead, kvHead, dqBuffers[byHead ? 0 : t]!),
              l,
              s,
              e,
              ev,
              attrs.scale,
              m.blockQ,
              m.blockKv,
              kStart,
              j0,
              listAt,
              list.length / 3,
              scratch[t]!,
            ],
          ],
        ]);
      }
    }
    wasm.parallel(deal(units, threads, byHead ? (u) => unitHeads[u]! % threads : undefined));
    const dq = collectDq(wasm, dqBuffers, qHeads, l, e);
    return [dq, wasm.f32(pdk!, kSize).slice(), wasm.f32(pdv!, vSize).slice()].map((t) =>
      device.upload(t),
    );
  });
}

/**
 * Register the native `blockSparseAttentionBackward` (float32). A score modifier is a
 * JavaScript function the module cannot call from its worker threads, so with one (as in the
 * forward, or another dtype) `fallback`, the reference kernel, runs.
 */
export function registerBlockSparseAttentionBackwardKernel(
  fallback: KernelFunc<BlockSparseAttentionAttrs, AttentionDims>,
): void {
  registerKernel<BlockSparseAttentionAttrs, AttentionDims>({
    op: 'blockSparseAttentionBackward',
    backend: 'wasm',
    run: (ctx) =>
      ctx.inputs[0]!.dtype === 'float32' && !ctx.attrs.mods.scoreMod
        ? blockSparseBackward(ctx)
        : fallback(ctx),
  });
}
