import { attentionWeights, weightedValues } from '@qkv/attention';
import { alibiBias, applyRope, sinusoidalTable } from '@qkv/positional';
import { add, linear, permute, QkvError, scope, type Tensor } from '@qkv/tensor';
import { causalAllowed, scaledScores } from './attend.js';
import { type MatrixStack, toStack } from './matrix.js';
import type { Projections } from './weights.js';

export interface LayerInput {
  /** Query-side token vectors `[L, d]`. */
  x: Tensor;
  /** Key / value side `[S, d]`: the same as x for self-attention, a second input for cross. */
  memory: Tensor;
  projections: Projections;
  numHeads: number;
  /** Token i attends only to keys j <= i (top-left aligned, as PyTorch's is_causal). */
  causal: boolean;
  /** How positions enter (default none: the layer then ignores word order). */
  positions?: PositionScheme;
}

export const POSITION_SCHEMES = ['none', 'sinusoidal', 'rope', 'alibi'] as const;
export type PositionScheme = (typeof POSITION_SCHEMES)[number];

/** Everything one multi-head attention layer computes, per head, read back to the host. */
export interface LayerResult {
  numHeads: number;
  headDim: number;
  /** Per head: queries `[L, dh]`, keys `[S, dh]`, values `[S, dh]`. */
  queries: MatrixStack;
  keys: MatrixStack;
  values: MatrixStack;
  /** Per head: scaled scores Q·Kᵀ/√dh `[L, S]` (masked entries are -Infinity). */
  scores: MatrixStack;
  /** Per head: softmax of the scores `[L, S]`, rows sum to 1. */
  weights: MatrixStack;
  /** Per head: weights·V `[L, dh]`. */
  outputs: MatrixStack;
}

/**
 * Multi-head attention, one visible step at a time (Vaswani et al. 2017, §3.2.2): project
 * with Wq, Wk, Wv, split the width into `numHeads` heads of dh = d / numHeads, and per head
 * softmax(Q·Kᵀ/√dh)·V. The output projection is left out: the page shows heads, not a model.
 * Positions from @qkv/positional: sinusoidal encodings added to the inputs, RoPE applied to
 * each head's queries and keys, or ALiBi's bias −slope·|distance| added to the scores.
 */
export function attentionLayer(input: LayerInput): LayerResult {
  const { projections, numHeads, causal, positions = 'none' } = input;
  const d = projections.dModel;
  if (!Number.isInteger(numHeads) || numHeads < 1 || d % numHeads !== 0) {
    throw new QkvError(`attentionLayer: ${numHeads} heads do not divide d_model = ${d}`);
  }
  const headDim = d / numHeads;
  const [L, S] = [input.x.shape[0]!, input.memory.shape[0]!];
  return scope(() => {
    const withTable = (t: Tensor, n: number) => add(t, sinusoidalTable(n, d));
    const sinusoidal = positions === 'sinusoidal';
    const x = sinusoidal ? withTable(input.x, L) : input.x;
    const memory = sinusoidal ? withTable(input.memory, S) : input.memory;
    const rope = (t: Tensor) => (positions === 'rope' ? applyRope(t, { headDim }) : t);
    // [n, d] -> [h, n, dh]
    const heads = (t: Tensor, n: number) => permute(t.reshape([n, numHeads, headDim]), [1, 0, 2]);
    const q = rope(heads(linear(x, projections.wq), L));
    const k = rope(heads(linear(memory, projections.wk), S));
    const v = heads(linear(memory, projections.wv), S);
    const allowed = causal ? causalAllowed(L, S) : undefined;
    const bias = positions === 'alibi' ? alibiBias(numHeads, L, S) : undefined;
    const scores = scaledScores(q, k, allowed, bias);
    // The weights and output come from @qkv/attention; the scores above are only for showing.
    const weights = attentionWeights(q, k, { isCausal: causal, ...(bias ? { bias } : {}) });
    const output = weightedValues(weights, v);
    return {
      numHeads,
      headDim,
      queries: toStack(q),
      keys: toStack(k),
      values: toStack(v),
      scores: toStack(scores),
      weights: toStack(weights),
      outputs: toStack(output),
    };
  });
}
