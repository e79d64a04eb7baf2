// @qkv/positional: every way of putting positions into attention.

export { type AlibiBiasOptions, alibiBias, alibiSlopes } from './alibi.js';
export { type HfRopeConfigJson, ropeOptionsFromHfConfig } from './hf-config.js';
export {
  GPT2_POSITION_WEIGHT_NAMES,
  LearnedPositionalEmbedding,
  type LearnedPositionalEmbeddingLoadOptions,
} from './learned.js';
export type { PositionIds } from './positions.js';
export {
  applyRope,
  type RopeApplyOptions,
  RotaryEmbedding,
  type RotaryEmbeddingOptions,
} from './rope.js';
export {
  type DynamicRopeScaling,
  type LinearRopeScaling,
  type Llama3RopeScaling,
  type LongRopeScaling,
  type RopeConfig,
  type RopeFrequencies,
  type RopeScaling,
  type RopeScalingType,
  ropeInvFreq,
  type YarnRopeScaling,
} from './rope-frequencies.js';
export { type SinusoidalOptions, sinusoidalTable } from './sinusoidal.js';
export type { StateDict } from './state-dict.js';
export {
  T5_RELATIVE_BIAS_NAMES,
  type T5BucketOptions,
  T5RelativeBias,
  t5RelativeBucket,
  t5RelativeBuckets,
} from './t5-bias.js';
