import {
  cpuData,
  defineOp,
  formatShape,
  hasKernel,
  isFloatDType,
  type OpDef,
  registerCpuKernel,
  runOp,
  type Tensor,
} from '@qkv/tensor';
import { type BlockMask, blockRow, createBlockMask } from './block-mask.js';
import { checkBlockSparseArgs } from './check-args.js';
import { type CompiledExpr, compileJs } from './compile-js.js';
import { fail } from './errors.js';
import { Expr } from './expr.js';
import { assertMask, compileMask, type Mask } from './mask.js';
import { dot, SoftmaxRow } from './online-softmax.js';
import { assertScoreMod } from './score-mods.js';

/** Name the op is registered under; a WebGPU kernel registers for the same name. */
export const BLOCK_SPARSE_ATTENTION = 'blockSparseAttention';

/** Counters a kernel fills when asked, to show what work it skipped. */
export interface BlockSparseStats {
  /** Non-empty (query block, key block) pairs visited, over all batches and heads. */
  blocksVisited: number;
  fullBlocksVisited: number;
  partialBlocksVisited: number;
  /** Mask evaluations (only partial blocks evaluate the mask). */
  maskEvaluations: number;
  /** q·k dot products computed. */
  scoresComputed: number;
}

export interface BlockSparseAttentionAttrs {
  readonly blockMask: BlockMask;
  readonly scale: number;
  readonly scoreMod?: Expr;
  readonly stats?: BlockSparseStats;
}

export interface BlockSparseAttentionOptions {
  /** Multiplies q·k before the score modifier; default 1 / sqrt(E). */
  scale?: number;
  scoreMod?: Expr;
  /** Block edge when a block mask is built from a mask (default 64). */
  blockSize?: number;
  /** Allow fewer key / value heads than query heads (grouped-query attention), as PyTorch. */
  enableGqa?: boolean;
  /** Filled with the kernel's work counters (CPU backend). */
  stats?: BlockSparseStats;
}

export interface AttentionDims {
  batch: number;
  heads: number;
  kvHeads: number;
  qLen: number;
  kvLen: number;
  headDim: number;
  valueDim: number;
}

/**
 * Check q `[B, H, L, E]`, k `[B, Hkv, S, E]`, v `[B, Hkv, S, Ev]` (rank 3 drops B) and
 * return the sizes; `Hkv` must equal `H` unless `enableGqa`, then divide it.
 */
export function attentionDims(
  where: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  enableGqa = false,
): AttentionDims {
  const shapes = `q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`;
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.rank !== 3 && t.rank !== 4) fail(where, `${name} must be rank 3 or 4 (${shapes})`);
    if (t.rank !== q.rank) fail(where, `q, k and v must have the same rank (${shapes})`);
    if (!isFloatDType(t.dtype)) fail(where, `${name} must be float32 or float16, got ${t.dtype}`);
    if (t.dtype !== q.dtype)
      fail(where, `q, k and v must share a dtype (${q.dtype} vs ${t.dtype})`);
  }
  const dims = (t: Tensor) => (t.rank === 4 ? t.shape : [1, ...t.shape]) as number[];
  const [batch, heads, qLen, headDim] = dims(q) as [number, number, number, number];
  const [kb, kvHeads, kvLen, kd] = dims(k) as [number, number, number, number];
  const [vb, vh, vLen, valueDim] = dims(v) as [number, number, number, number];
  if (kb !== batch || vb !== batch) fail(where, `batch sizes differ (${shapes})`);
  if (kd !== headDim) fail(where, `q and k head sizes differ (${shapes})`);
  if (vh !== kvHeads || vLen !== kvLen)
    fail(where, `k and v must agree on heads and length (${shapes})`);
  if (kvHeads !== heads) {
    if (!enableGqa)
      fail(where, `q has ${heads} heads but k / v ${kvHeads}; pass enableGqa (${shapes})`);
    if (kvHeads === 0 || heads % kvHeads !== 0) {
      fail(where, `k / v heads (${kvHeads}) must divide q heads (${heads}) (${shapes})`);
    }
  }
  return { batch, heads, kvHeads, qLen, kvLen, headDim, valueDim };
}

let opDef: OpDef<BlockSparseAttentionAttrs> | undefined;

function blockSparseOp(): OpDef<BlockSparseAttentionAttrs> {
  opDef ??= defineOp<BlockSparseAttentionAttrs>({
    name: BLOCK_SPARSE_ATTENTION,
    inputNames: ['query', 'key', 'value'],
    infer([q, k, v], { blockMask: m }) {
      const d = attentionDims(BLOCK_SPARSE_ATTENTION, q!, k!, v!, true);
      if (m.qLen !== d.qLen || m.kvLen !== d.kvLen) {
        fail(
          BLOCK_SPARSE_ATTENTION,
          `the block mask is for qLen ${m.qLen}, kvLen ${m.kvLen} but q has ${d.qLen} and k ${d.kvLen} positions`,
        );
      }
      if ((m.batch !== 1 && m.batch !== d.batch) || (m.heads !== 1 && m.heads !== d.heads)) {
        fail(
          BLOCK_SPARSE_ATTENTION,
          `the block mask covers batch ${m.batch} x heads ${m.heads}, which does not broadcast to ${d.batch} x ${d.heads}`,
        );
      }
      const shape =
        q!.rank === 4 ? [d.batch, d.heads, d.qLen, d.valueDim] : [d.heads, d.qLen, d.valueDim];
      return [{ shape, dtype: q!.dtype }];
    },
  });
  if (!hasKernel(BLOCK_SPARSE_ATTENTION, 'cpu')) {
    registerCpuKernel<BlockSparseAttentionAttrs>(BLOCK_SPARSE_ATTENTION, (ctx, [out]) => {
      const [q, k, v] = ctx.inputs as [Tensor, Tensor, Tensor];
      const dims = attentionDims(BLOCK_SPARSE_ATTENTION, q, k, v, true);
      blockSparseCpu(dims, cpuData(q), cpuData(k), cpuData(v), out!, ctx.attrs);
    });
  }
  return opDef;
}

/**
 * Attention restricted by a mask, visiting only the key blocks a block mask lists: full
 * blocks skip mask evaluation, partial blocks evaluate it per element, empty blocks cost
 * nothing. Scores are `q·k * scale`, then the score modifier; softmax runs online over the
 * visited keys. Rows with no attended key give zeros. Equals dense attention under the same
 * mask. `mask` is a mask (a block mask is built with `blockSize`) or a ready block mask.
 */
export function blockSparseAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Mask | BlockMask,
  options: BlockSparseAttentionOptions = {},
): Tensor {
  const where = BLOCK_SPARSE_ATTENTION;
  checkBlockSparseArgs(where, q, k, v, mask, options.scale);
  const dims = attentionDims(where, q, k, v, options.enableGqa ?? false);
  let blockMask: BlockMask;
  if (mask instanceof Expr || (mask as { kind?: string }).kind === 'predicate') {
    assertMask(where, mask as Mask);
    blockMask = createBlockMask(mask as Mask, {
      qLen: dims.qLen,
      kvLen: dims.kvLen,
      batch: dims.batch,
      heads: dims.heads,
      ...(options.blockSize === undefined ? {} : { blockSize: options.blockSize }),
    });
  } else {
    blockMask = mask as BlockMask;
  }
  if (options.scoreMod) assertScoreMod(where, options.scoreMod);
  const scale = options.scale ?? 1 / Math.sqrt(dims.headDim);
  if (!Number.isFinite(scale)) fail(where, `scale must be finite, got ${scale}`);
  const attrs: BlockSparseAttentionAttrs = {
    blockMask,
    scale,
    ...(options.scoreMod ? { scoreMod: options.scoreMod } : {}),
    ...(options.stats ? { stats: options.stats } : {}),
  };
  return runOp(blockSparseOp(), [q, k, v], attrs)[0]!;
}

/** A fresh set of zeroed counters for `options.stats`. */
export function emptyStats(): BlockSparseStats {
  return {
    blocksVisited: 0,
    fullBlocksVisited: 0,
    partialBlocksVisited: 0,
    maskEvaluations: 0,
    scoresComputed: 0,
  };
}

function blockSparseCpu(
  d: AttentionDims,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  out: { [i: number]: number },
  attrs: BlockSparseAttentionAttrs,
): void {
  const { blockMask: m, scale, stats } = attrs;
  const maskAt = compileMask(m.mask);
  const mod: CompiledExpr | undefined = attrs.scoreMod ? compileJs(attrs.scoreMod) : undefined;
  const group = d.heads / d.kvHeads;
  const row = new SoftmaxRow(d.valueDim);
  const scores = new Float64Array(m.blockKv);
  const valueRows = new Int32Array(m.blockKv);
  const E = d.headDim;
  const Ev = d.valueDim;
  const counts = { full: 0, partial: 0 };
  let maskEvaluations = 0;
  let scoresComputed = 0;

  for (let bi = 0; bi < d.batch; bi++) {
    for (let hi = 0; hi < d.heads; hi++) {
      // Grouped-query attention: query head hi reads k / v head floor(hi / group).
      const kvBase = (bi * d.kvHeads + Math.floor(hi / group)) * d.kvLen;
      const outBase = (bi * d.heads + hi) * d.qLen;
      for (let qb = 0; qb < m.numQBlocks; qb++) {
        const r = blockRow(m, bi, hi, qb);
        const [fullFrom, fullTo] = [m.fullOffsets[r]!, m.fullOffsets[r + 1]!];
        const [partFrom, partTo] = [m.partialOffsets[r]!, m.partialOffsets[r + 1]!];
        counts.full += fullTo - fullFrom;
        counts.partial += partTo - partFrom;
        const qEnd = Math.min((qb + 1) * m.blockQ, d.qLen);
        for (let qi = qb * m.blockQ; qi < qEnd; qi++) {
          row.reset();
          const qOff = (outBase + qi) * E;
          // Full blocks first (no mask evaluation), then partial ones.
          for (let phase = 0; phase < 2; phase++) {
            const masked = phase === 1;
            const list = masked ? m.partialIndices : m.fullIndices;
            const to = masked ? partTo : fullTo;
            for (let j = masked ? partFrom : fullFrom; j < to; j++) {
              const kb = list[j]!;
              const kEnd = Math.min((kb + 1) * m.blockKv, d.kvLen);
              let n = 0;
              for (let ki = kb * m.blockKv; ki < kEnd; ki++) {
                if (masked) {
                  maskEvaluations++;
                  if (!maskAt(bi, hi, qi, ki)) continue;
                }
                const s = dot(q, qOff, k, (kvBase + ki) * E, E) * scale;
                scores[n] = mod ? mod(bi, hi, qi, ki, s) : s;
                valueRows[n++] = (kvBase + ki) * Ev;
              }
              scoresComputed += n;
              row.addBlock(scores, valueRows, n, v);
            }
          }
          row.writeTo(out, (outBase + qi) * Ev);
        }
      }
    }
  }
  if (stats) {
    stats.fullBlocksVisited += counts.full;
    stats.partialBlocksVisited += counts.partial;
    stats.blocksVisited += counts.full + counts.partial;
    stats.maskEvaluations += maskEvaluations;
    stats.scoresComputed += scoresComputed;
  }
}
