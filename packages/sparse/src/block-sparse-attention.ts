import {
  type AttentionModsWgsl,
  assertGqaAllowed,
  BLOCK_SPARSE_ATTENTION,
  BlockSparseAttentionOp,
  type BlockSparseStats,
  type CompiledAttentionMods,
  defaultAttentionScale,
  QkvError,
  runOpSavingForGradient,
  type Tensor,
} from '@qkv/tensor';
import { type BlockMask, createBlockMask } from './block-mask.js';
import { checkBlockSparseArgs } from './check-args.js';
import { compileJs } from './compile-js.js';
import { derivative } from './derivative.js';
import { Expr } from './expr.js';
import { assertMask, compileMask, type Mask } from './mask.js';
import { assertScoreMod } from './score-mods.js';
import { attentionModsWgsl } from './wgsl.js';

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

/**
 * The block mask's mask and the score modifier compiled for the `blockSparseAttention` op:
 * JavaScript always, WGSL when a backend asks for it. The mask goes into the WGSL only when
 * some block is partial, so a `maskFromPredicate(...)` mask still runs on WebGPU when every
 * visited block is full.
 */
export function compileAttentionMods(blockMask: BlockMask, scoreMod?: Expr): CompiledAttentionMods {
  const needsMask = blockMask.partialIndices.length > 0;
  const mask = blockMask.mask;
  const grad = scoreMod ? scoreModGrad(scoreMod) : undefined;
  const scoreModGradExpr = grad instanceof Expr ? grad : undefined;
  const toWgsl = (): AttentionModsWgsl | undefined => {
    if (!needsMask && !scoreMod) return undefined;
    // A JavaScript predicate has no WGSL form.
    if (needsMask && !(mask instanceof Expr)) return undefined;
    return attentionModsWgsl({
      ...(needsMask ? { mask: mask as Expr } : {}),
      ...(scoreMod ? { scoreMod } : {}),
      ...(scoreModGradExpr ? { scoreModGrad: scoreModGradExpr } : {}),
    });
  };
  let wgsl: AttentionModsWgsl | undefined;
  return {
    mask: compileMask(mask),
    ...(scoreMod ? { scoreMod: compileJs(scoreMod) } : {}),
    ...(scoreModGradExpr ? { scoreModGrad: compileJs(scoreModGradExpr) } : {}),
    ...(typeof grad === 'string' ? { scoreModGradMissing: grad } : {}),
    // Compiled on first use: the CPU never reads it.
    get wgsl() {
      wgsl ??= toWgsl();
      return wgsl;
    },
  };
}

/**
 * The score modifier's derivative, or why it has none. Kept rather than thrown: only a call
 * whose gradient is taken needs it, and the autodiff tape reports the reason at that call.
 */
function scoreModGrad(scoreMod: Expr): Expr | string {
  try {
    return derivative(scoreMod);
  } catch (error) {
    if (error instanceof QkvError) return error.message;
    throw error;
  }
}

/**
 * Attention restricted by a mask, visiting only the key blocks a block mask lists: full
 * blocks skip mask evaluation, partial blocks evaluate it per element, empty blocks cost
 * nothing. Scores are `q·k * scale`, then the score modifier; softmax runs online over the
 * visited keys. Rows with no attended key give zeros. Equals dense attention under the same
 * mask. `mask` is a mask (a block mask is built with `blockSize`) or a ready block mask.
 * Runs the `blockSparseAttention` op of `@qkv/tensor` on the inputs' device.
 *
 * Differentiable: the backward visits the same blocks, and gradients flow through the score
 * modifier by its symbolic derivative (`derivative`); taking the gradient of a call whose
 * modifier has none (a score-dependent `floorDiv`) is an error at the call.
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
  assertGqaAllowed(where, q, k, options.enableGqa);
  let blockMask: BlockMask;
  if (mask instanceof Expr || (mask as { kind?: string }).kind === 'predicate') {
    assertMask(where, mask as Mask);
    // Sizes as the op reads them; the op validates the shapes.
    blockMask = createBlockMask(mask as Mask, {
      qLen: q.shape[q.rank - 2] ?? 0,
      kvLen: k.shape[k.rank - 2] ?? 0,
      batch: q.rank === 4 ? q.shape[0]! : 1,
      heads: q.shape[q.rank - 3] ?? 1,
      ...(options.blockSize === undefined ? {} : { blockSize: options.blockSize }),
    });
  } else {
    blockMask = mask as BlockMask;
  }
  if (options.scoreMod) assertScoreMod(where, options.scoreMod);
  const attrs = {
    blocks: blockMask,
    mods: compileAttentionMods(blockMask, options.scoreMod),
    scale: options.scale ?? defaultAttentionScale(q.shape[q.rank - 1] ?? 1),
    ...(options.stats ? { stats: options.stats } : {}),
  };
  // Under a gradient tape the same pass saves the row log-sum-exp the backward reads.
  return runOpSavingForGradient(BlockSparseAttentionOp, [q, k, v], attrs, {
    ...attrs,
    saveLse: true,
  });
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
