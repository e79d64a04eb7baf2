import { fail } from '../errors.js';
import { defineOp, type Inferred } from '../registry.js';
import { type AttentionDims, assertScale, attentionDims } from './attention.js';
import { describe } from './validate.js';

/** The op's name; every backend registers its kernel under it. */
export const BLOCK_SPARSE_ATTENTION = 'blockSparseAttention';

/**
 * Which key blocks each query block visits, as CSR lists per (batch, head, query block) row
 * (see {@link blockTableRow}): full blocks (every key attended, the mask is not evaluated)
 * and partial blocks (the mask decides per element). Blocks in neither list are skipped.
 * `batch` / `heads` of 1 broadcast. `@qkv/sparse`'s `createBlockMask` builds these.
 */
export interface BlockTables {
  readonly qLen: number;
  readonly kvLen: number;
  readonly blockQ: number;
  readonly blockKv: number;
  readonly numQBlocks: number;
  readonly batch: number;
  readonly heads: number;
  /** Row r's full blocks are `fullIndices[fullOffsets[r] .. fullOffsets[r + 1])`. */
  readonly fullOffsets: Int32Array;
  readonly fullIndices: Int32Array;
  readonly partialOffsets: Int32Array;
  readonly partialIndices: Int32Array;
}

/** The row of `tables` for batch b, head h and query block qb (broadcast dims fold to 0). */
export function blockTableRow(tables: BlockTables, b: number, h: number, qb: number): number {
  return ((b % tables.batch) * tables.heads + (h % tables.heads)) * tables.numQBlocks + qb;
}

/** A read-only table the compiled WGSL indexes by name (a storage array). */
export interface WgslTable {
  readonly name: string;
  readonly data: Int32Array | Float32Array;
}

/** A scalar the compiled WGSL reads as `params.<name>`, a field of the kernel's parameters. */
export interface WgslScalar {
  readonly name: string;
  readonly type: 'i32' | 'f32';
  readonly value: number;
}

/**
 * The mask and score modifier in WGSL, for a kernel to inline: `code` declares helpers and
 * the functions, reads each table as a storage array of its name and each scalar as
 * `params.<name>`; the kernel declares both. Names start with a prefix no kernel uses.
 */
export interface AttentionModsWgsl {
  readonly code: string;
  /** `fn <maskFunction>(b: i32, h: i32, q_idx: i32, kv_idx: i32) -> bool`. */
  readonly maskFunction?: string;
  /** `fn <scoreFunction>(score: f32, b: i32, h: i32, q_idx: i32, kv_idx: i32) -> f32`. */
  readonly scoreFunction?: string;
  /**
   * The score modifier's derivative with respect to the score, with the score function's
   * signature: what the backward multiplies dS by (absent: the backward refuses).
   */
  readonly scoreGradFunction?: string;
  readonly tables: readonly WgslTable[];
  readonly scalars: readonly WgslScalar[];
}

/** A score modifier, or its derivative, as a function of position and raw score. */
export type ScoreFunction = (
  b: number,
  h: number,
  qIdx: number,
  kvIdx: number,
  score: number,
) => number;

/**
 * A mask and score modifier compiled for every backend: JavaScript for the CPU and WGSL for
 * WebGPU. `mask` true (or 1) = may attend; absent = every key of a partial block is attended.
 * `wgsl` is absent when the mask has no WGSL form (a JavaScript predicate).
 *
 * The gradient through a score modifier s' = mod(s, b, h, i, j) needs its derivative
 * ∂mod/∂s: the backward multiplies dS' by `scoreModGrad` at the raw score (the chain rule)
 * to get the gradient of the raw score s = scale·q·k. Without one the gradient is refused,
 * with `scoreModGradMissing` as the reason when the front-end gives one.
 */
export interface CompiledAttentionMods {
  readonly mask?: (b: number, h: number, qIdx: number, kvIdx: number) => boolean | number;
  readonly scoreMod?: ScoreFunction;
  /** ∂scoreMod/∂score, evaluated at the raw score. */
  readonly scoreModGrad?: ScoreFunction;
  /** Why a score modifier has no `scoreModGrad` (the construct it cannot differentiate). */
  readonly scoreModGradMissing?: string;
  readonly wgsl?: AttentionModsWgsl;
}

/**
 * Why the gradient of a block-sparse call with these mods cannot be taken, or undefined
 * when it can: a score modifier needs its derivative.
 */
export function scoreModGradRefusal(mods: CompiledAttentionMods): string | undefined {
  if (!mods.scoreMod || mods.scoreModGrad) return undefined;
  return `the gradient through the score modifier needs its derivative: ${
    mods.scoreModGradMissing ?? 'the compiled mods carry no scoreModGrad'
  }`;
}

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

/** Attributes of {@link BlockSparseAttentionOp}: plain data, whatever built it. */
export interface BlockSparseAttentionAttrs {
  readonly blocks: BlockTables;
  readonly mods: CompiledAttentionMods;
  /** Multiplies q·k before the score modifier (front-ends default to 1/sqrt(E)). */
  readonly scale: number;
  /** Filled by backends that count (the CPU); others leave it unchanged. */
  readonly stats?: BlockSparseStats;
  /**
   * Also output each query row's log-sum-exp over its attended scores (float32 `[B, H, L]`,
   * what `blockSparseAttentionLse` computes) from the same pass; front-ends ask for it when a
   * gradient tape records the call, so the backward need not visit the blocks once more.
   */
  readonly saveLse?: boolean;
}

function checkTables(where: string, t: BlockTables, d: AttentionDims): void {
  if (t.qLen !== d.queryLength || t.kvLen !== d.kvLength) {
    fail(
      where,
      `the block mask is for qLen ${t.qLen}, kvLen ${t.kvLen} but q has ${d.queryLength} and k ${d.kvLength} positions`,
    );
  }
  if ((t.batch !== 1 && t.batch !== d.batch) || (t.heads !== 1 && t.heads !== d.qHeads)) {
    fail(
      where,
      `the block mask covers batch ${t.batch} x heads ${t.heads}, which does not broadcast to ${d.batch} x ${d.qHeads}`,
    );
  }
  const rows = t.batch * t.heads * t.numQBlocks;
  if (
    t.numQBlocks !== Math.ceil(t.qLen / t.blockQ) ||
    t.fullOffsets.length !== rows + 1 ||
    t.partialOffsets.length !== rows + 1
  ) {
    fail(where, `the block tables' offsets do not match ${rows} (batch, head, query block) rows`);
  }
}

/**
 * Attention restricted by a mask, visiting only the key blocks `blocks` lists: full blocks
 * without evaluating the mask, partial blocks through `mods.mask`, empty blocks not at all.
 * Inputs q `[B, H, L, E]`, k `[B, Hkv, S, E]`, v `[B, Hkv, S, Ev]` (rank 3 drops B; Hkv
 * divides H, as in grouped-query attention). Scores are `q·k * scale`, then `mods.scoreMod`;
 * the softmax runs over the attended keys, and a row with none is zeros. Output
 * `[B, H, L, Ev]` in q's dtype; equals dense attention under the same mask. With `saveLse`,
 * a second output: float32 `[B, H, L]`, each row's log-sum-exp (-inf for a row with none).
 */
export const BlockSparseAttentionOp = defineOp<BlockSparseAttentionAttrs, AttentionDims>({
  name: BLOCK_SPARSE_ATTENTION,
  inputNames: ['query', 'key', 'value'],
  infer([q, k, v], attrs): Inferred<AttentionDims> {
    const where = BLOCK_SPARSE_ATTENTION;
    const d = attentionDims(where, q, k, v);
    if (q!.rank !== 3 && q!.rank !== 4) {
      fail(where, `q, k and v must be rank 3 or 4 ([B, H, L, E]), got q ${describe(q!)}`);
    }
    assertScale(where, attrs.scale);
    checkTables(where, attrs.blocks, d);
    const rows = [...d.batchShape, d.qHeads, d.queryLength];
    const outputs = [{ shape: [...rows, d.valueDim], dtype: q!.dtype }];
    if (attrs.saveLse) outputs.push({ shape: rows, dtype: 'float32' });
    return { outputs, plan: d };
  },
});
