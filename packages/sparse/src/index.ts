// @qkv/sparse: a mask language compiled to JavaScript, WGSL and block masks; built-in sparse
// patterns and score modifiers; block-sparse attention on the CPU; a rolling KV cache.

// The op this package is the front-end of, and the CPU helpers it shares with the core.
export {
  BLOCK_SPARSE_ATTENTION,
  type BlockSparseAttentionAttrs,
  type BlockSparseStats,
  dot,
  SoftmaxRow,
} from '@qkv/tensor';
export {
  BLOCK_EMPTY,
  BLOCK_FULL,
  BLOCK_PARTIAL,
  type BlockClassification,
  type BlockMask,
  type BlockMaskOptions,
  blockDensity,
  blockRow,
  blockState,
  createBlockMask,
} from './block-mask.js';
export {
  type BlockSparseAttentionOptions,
  blockSparseAttention,
  compileAttentionMods,
  emptyStats,
} from './block-sparse-attention.js';
export { assertMaskOrBlockMask } from './check-args.js';
export { type CompiledExpr, compileJs } from './compile-js.js';
export { derivative } from './derivative.js';
export {
  abs,
  add,
  and,
  b,
  div,
  Expr,
  type ExprNode,
  exp,
  f32,
  floorDiv,
  formatExpr,
  h,
  kvIdx,
  lit,
  max,
  min,
  mod,
  mul,
  not,
  type Operand,
  or,
  param,
  qIdx,
  type ScalarType,
  score,
  sub,
  substitute,
  tanh,
  usesVar,
  type VarName,
  where,
} from './expr.js';
export { type IndexedData, IndexedTensor, indexed } from './indexed-tensor.js';
export { compileBounds, type Interval } from './interval.js';
export {
  compileMask,
  type Mask,
  maskFromPredicate,
  maskToTensor,
  materializeMask,
  type PredicateMask,
} from './mask.js';
export {
  type BigBirdOptions,
  bigBird,
  causal,
  dilatedSlidingWindow,
  documentMask,
  fullMask,
  keyPadding,
  longformer,
  prefixLM,
  slidingWindow,
  sparseTransformerFixed,
  sparseTransformerStrided,
  symmetricWindow,
} from './patterns.js';
export {
  RollingKvCache,
  type RollingKvCacheOptions,
  type RollingStepOptions,
} from './rolling-kv-cache.js';
export { alibi, composeScoreMods, relativeBias, softCap, t5Bias } from './score-mods.js';
export {
  attentionModsWgsl,
  type ToWgslOptions,
  toWgsl,
  type WgslBinding,
  type WgslSnippet,
} from './wgsl.js';
