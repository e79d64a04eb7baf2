// The op conformance suite: written once against the public op API of @qkv/tensor and run
// by every backend (`describeConformance(backend, makeDevice, ALL_GROUPS, options)`).
import { attentionCases } from './cases/attention.js';
import { attentionGradientCases } from './cases/attention-gradients.js';
import { attentionLseCases } from './cases/attention-lse.js';
import { blockSparseAttentionCases } from './cases/block-sparse-attention.js';
import { blockSparseGradientCases } from './cases/block-sparse-gradients.js';
import { creationCases } from './cases/creation.js';
import { crossEntropyCases } from './cases/cross-entropy.js';
import { elementwiseCases } from './cases/elementwise.js';
import { gradientCases } from './cases/gradients.js';
import { layoutCases } from './cases/layout.js';
import { lifetimeCases } from './cases/lifetime.js';
import { maskedNonFiniteCases } from './cases/masked-nonfinite.js';
import { matmulCases } from './cases/matmul.js';
import { normCases } from './cases/norm.js';
import { reduceCases } from './cases/reduce.js';
import { ropeCases } from './cases/rope.js';
import { torchFixtureCases } from './cases/torch-fixtures.js';
import type { CaseGroup } from './harness.js';

export {
  type Sizes as AttentionSizes,
  sizes as attentionSizes,
} from './cases/block-sparse-attention.js';
export { expectClose, expectExact, type Tolerance, toleranceFor } from './compare.js';
export {
  describeGpuConformance,
  gpuErrorScope,
  noGpuTest,
  type ScopedGpuDevice,
} from './gpu.js';
export {
  type CaseContext,
  type CaseGroup,
  type ConformanceCase,
  type ConformanceOptions,
  describeConformance,
  type RandomInput,
} from './harness.js';
export * as reference from './reference.js';

export const ALL_GROUPS: Record<string, CaseGroup> = {
  creation: creationCases,
  lifetime: lifetimeCases,
  elementwise: elementwiseCases,
  reduce: reduceCases,
  matmul: matmulCases,
  layout: layoutCases,
  norm: normCases,
  attention: attentionCases,
  'attention log-sum-exp': attentionLseCases,
  blockSparseAttention: blockSparseAttentionCases,
  'non-finite values at masked keys': maskedNonFiniteCases,
  rope: ropeCases,
  'PyTorch fixtures': torchFixtureCases,
  gradients: gradientCases,
  'attention gradients': attentionGradientCases,
  'block-sparse attention gradients': blockSparseGradientCases,
  crossEntropy: crossEntropyCases,
};
