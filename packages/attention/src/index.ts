// @qkv/attention: scaled dot-product attention, multi-head / grouped-query attention and a
// KV cache, on any qkv device (the fused `attention` op of @qkv/tensor does the work).

export type { CausalAlignment } from '@qkv/tensor';
export { dropout } from './dropout.js';
export { KVCache, type KVCacheOptions } from './kv-cache.js';
export type { MhaMaskInputs } from './mha-masks.js';
export {
  MultiHeadAttention,
  type MultiHeadAttentionForwardOptions,
  type MultiHeadAttentionOptions,
  type MultiHeadAttentionOutput,
  type RotaryEmbedding,
} from './multi-head-attention.js';
export {
  attentionWeights,
  type SdpaOptions,
  scaledDotProductAttention,
  weightedValues,
} from './sdpa.js';
export { expectedParameters, type MhaShapeConfig } from './state-dict.js';
