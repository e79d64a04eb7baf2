// The @qkv/attention test groups, written against the public API and parameterised by the
// device under test: every backend runs them with `describeConformance`.
import type { CaseGroup } from '@qkv/conformance';
import { alibiCases } from './cases/alibi.js';
import { failedCallCases } from './cases/failed-calls.js';
import { kvCacheCases } from './cases/kv-cache.js';
import { maskedGarbageCases } from './cases/masked-garbage.js';
import { mhaGradientCases } from './cases/mha-gradients.js';
import { mhaCases } from './cases/multi-head-attention.js';
import { sdpaCases } from './cases/sdpa.js';
import { torchFixtureCases } from './cases/torch-fixtures.js';

export const ATTENTION_GROUPS: Record<string, CaseGroup> = {
  'PyTorch fixtures': torchFixtureCases,
  scaledDotProductAttention: sdpaCases,
  MultiHeadAttention: mhaCases,
  'KV cache': kvCacheCases,
  'MultiHeadAttention gradients': mhaGradientCases,
  'ALiBi, one convention': alibiCases,
  'failed calls change nothing': failedCallCases,
  'garbage at masked keys': maskedGarbageCases,
};
