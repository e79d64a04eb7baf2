import {
  alibiBias,
  alibiSlopes,
  applyRope,
  LearnedPositionalEmbedding,
  RotaryEmbedding,
  ropeInvFreq,
  ropeOptionsFromHfConfig,
  sinusoidalTable,
  T5RelativeBias,
  t5RelativeBucket,
} from '@qkv/positional';
import { QkvError, randn } from '@qkv/tensor';
import { describeBadInput, type Row } from './table.js';

// biome-ignore format: one row per line, so adding a case is adding a line
export const positionalRows: Row[] = [
  ['new RotaryEmbedding() with no options', () => new RotaryEmbedding(undefined as never), QkvError, ['RotaryEmbedding', 'options must be an object', 'headDim', 'undefined']],
  ['RotaryEmbedding: odd headDim', () => new RotaryEmbedding({ headDim: 3 }), QkvError, ['rotary dimension must be an even integer', 'got 3']],
  ["RotaryEmbedding: style 'x'", () => new RotaryEmbedding({ headDim: 4, style: 'x' as never }), QkvError, ['style must be', "'half' or 'interleaved'", "got 'x'"]],
  ['RotaryEmbedding.apply(array)', () => new RotaryEmbedding({ headDim: 4 }).apply([1] as never), QkvError, ['RotaryEmbedding.apply', 'x must be a Tensor', 'an array of 1']],
  ['RotaryEmbedding.apply: offset -1', () => new RotaryEmbedding({ headDim: 4 }).apply(randn([1, 2, 3, 4]), { offset: -1 }), QkvError, ['offset must be a non-negative integer', 'got -1']],
  ['applyRope(x) with no options', () => applyRope(randn([2, 4]), undefined as never), QkvError, ['applyRope', 'options must be an object', 'undefined']],
  ['applyRope(undefined, options)', () => applyRope(undefined as never, { headDim: 4 }), QkvError, ['applyRope', 'x must be a Tensor', 'undefined']],
  ['ropeInvFreq: odd headDim', () => ropeInvFreq({ headDim: 3 }), QkvError, ['ropeInvFreq', 'even integer', 'got 3']],
  ['ropeOptionsFromHfConfig({})', () => ropeOptionsFromHfConfig({} as never), QkvError, ['needs head_dim', 'hidden_size and num_attention_heads']],
  ['alibiSlopes(0)', () => alibiSlopes(0), QkvError, ['alibiSlopes', 'numHeads must be a positive integer', 'got 0']],
  ['alibiBias: no slopes', () => alibiBias([], 2, 2), QkvError, ['alibiBias', 'slopes must be a non-empty list']],
  ['sinusoidalTable: length -1', () => sinusoidalTable(-1, 8), QkvError, ['sinusoidalTable', 'length must be a non-negative integer', 'got -1']],
  ['sinusoidalTable: odd dim', () => sinusoidalTable(4, 7), QkvError, ['dim must be an even integer >= 2', 'got 7']],
  ['t5RelativeBucket(0.5)', () => t5RelativeBucket(0.5), QkvError, ['relativePosition must be an integer', 'got 0.5']],
  ['new T5RelativeBias() with no weight', () => new T5RelativeBias(undefined as never), QkvError, ['T5RelativeBias', 'weight must be a Tensor', 'undefined']],
  ['new LearnedPositionalEmbedding(Float32Array)', () => new LearnedPositionalEmbedding(new Float32Array(4) as never), QkvError, ['LearnedPositionalEmbedding', 'weight must be a Tensor', 'a Float32Array']],
];

describeBadInput('@qkv/positional', positionalRows);
