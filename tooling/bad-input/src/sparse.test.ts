import {
  blockSparseAttention,
  causal,
  createBlockMask,
  derivative,
  f32,
  keyPadding,
  lit,
  score,
  slidingWindow,
} from '@qkv/sparse';
import { type Device, QkvError, type Tensor, valueAndGrads } from '@qkv/tensor';
import { describeBadInput, type Row, randomQkv } from './table.js';

const qkv = (device: Device) => randomQkv(device, [1, 2, 5, 4]);

// biome-ignore format: one row per line, so adding a case is adding a line
export const sparseRows: Row[] = [
  ['blockSparseAttention: mask {}', ({ device }) => blockSparseAttention(...qkv(device), {} as never), QkvError, ['blockSparseAttention', 'mask must be a @qkv/sparse mask', 'an object']],
  ['blockSparseAttention: q is an array', ({ device }) => blockSparseAttention([1] as never, ...(qkv(device).slice(1) as [Tensor, Tensor]), causal()), QkvError, ['blockSparseAttention', 'q must be a Tensor', 'an array of 1']],
  ["blockSparseAttention: scale '1'", ({ device }) => blockSparseAttention(...qkv(device), causal(), { scale: '1' as never }), QkvError, ['scale must be a finite number', 'the string "1"']],
  ['blockSparseAttention: blockSize 0', ({ device }) => blockSparseAttention(...qkv(device), causal(), { blockSize: 0 }), QkvError, ['blockSize must be a positive integer', 'got 0']],
  ['createBlockMask: qLen -1', () => createBlockMask(causal(), { qLen: -1, kvLen: 4 }), QkvError, ['createBlockMask', 'qLen must be an integer >= 0', 'got -1']],
  ['createBlockMask: mask {}', () => createBlockMask({} as never, { qLen: 4, kvLen: 4 }), QkvError, ['createBlockMask', 'must be an Expr or a maskFromPredicate']],
  ['slidingWindow(-1)', () => slidingWindow(-1), QkvError, ['window must be an integer >= 1', 'got -1']],
  ['keyPadding([-1])', () => keyPadding([-1]), QkvError, ['length must be an integer >= 0', 'got -1']],
  ['lit(NaN)', () => lit(Number.NaN), QkvError, ['constants must be finite', 'got NaN']],
  ['derivative: floorDiv of the score', () => derivative(score.floorDiv(f32(2))), QkvError, ['derivative', '(score // 2)', 'floorDiv has no derivative']],
  ['blockSparseAttention gradient: floorDiv of the score', ({ device }) => { const [q, k, v] = qkv(device); return valueAndGrads((a) => blockSparseAttention(a, k, v, causal(), { scoreMod: score.floorDiv(f32(2)) }))([q]); }, QkvError, ['blockSparseAttention', 'the gradient through the score modifier needs its derivative', '(score // 2)']],
];

describeBadInput('@qkv/sparse', sparseRows);
