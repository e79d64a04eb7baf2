// @qkv/train: what training a qkv model needs on top of @qkv/tensor's autodiff.

export { type CrossEntropyOptions, crossEntropy } from '@qkv/tensor';
export { type ClippedGradients, clipGradNorm } from './clip.js';
export {
  INDUCTION_CONFIG,
  INDUCTION_FORMED,
  INDUCTION_TRAINING,
  repeatedHalfTargets,
} from './experiment.js';
export { headScores, repeatedSequences } from './induction.js';
export {
  type AttentionStack,
  InductionRun,
  type InductionRunOptions,
  type Measurement,
} from './induction-run.js';
export { type InitOptions, linearInit, normalInit, uniformInit, xavierUniform } from './init.js';
export {
  AdamW,
  type AdamWOptions,
  Optimizer,
  type Parameters,
  SGD,
  type SgdOptions,
} from './optimizers.js';
export { languageModelLoss, type TrainStepOptions, trainStep } from './trainer.js';
export {
  attentionPatterns,
  forward,
  initParameters,
  parameterShapes,
  type TransformerConfig,
} from './transformer.js';
