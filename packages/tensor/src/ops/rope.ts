import { fail } from '../errors.js';
import { defineOp, runOp } from '../registry.js';
import type { Tensor } from '../tensor.js';
import { assertDTypeIn, assertFloat, assertTensors, describe } from './validate.js';

/**
 * How the rotated dimensions are paired.
 * - `half`: dimension i pairs with i + rotaryDim/2 (GPT-NeoX / LLaMA `rotate_half`).
 * - `interleaved`: dimension 2i pairs with 2i + 1 (GPT-J / Mesh-TensorFlow `rotate_every_two`).
 */
export type RopeStyle = 'half' | 'interleaved';

export const ROPE_STYLES: readonly RopeStyle[] = ['half', 'interleaved'];

export interface RopeAttrs {
  readonly style: RopeStyle;
  /** Leading dimensions of the last axis that are rotated (even, 2..D); the rest pass through. */
  readonly rotaryDim: number;
  /** Multiplies cos and sin (Hugging Face `attention_scaling`; YaRN / LongRoPE set it). */
  readonly attentionScaling: number;
}

/**
 * Rotary position embedding (Su et al. 2021, RoFormer), applied to one tensor.
 *
 * Inputs:
 * - `x` float32 / float16 `[..., S, D]`: the rotation runs along the last dimension, the
 *   sequence is dimension -2 (e.g. `[B, H, S, D]` or `[S, D]`).
 * - `positions` int32, either `[S]` (shared by every leading index) or `[B, S]`, where `B`
 *   equals `x.shape[0]` and x has rank >= 3 (one row of position ids per batch entry, for
 *   packed sequences and per-sequence cache offsets).
 * - `invFreq` float32 `[rotaryDim / 2]`: the inverse frequencies (scaling already applied).
 *
 * For frequency index i in [0, rotaryDim/2), with `p` the position of the row:
 *   angle = fround(fround(p) * invFreq[i])   (the product rounded to float32, as Hugging Face
 *                                             computes `inv_freq @ position_ids` in float32)
 *   c = cos(angle) * attentionScaling,  s = sin(angle) * attentionScaling
 * and the pair (a, b) of x is written as (a·c − b·s, b·c + a·s), where the pair is
 * (x[i], x[i + rotaryDim/2]) for `half` and (x[2i], x[2i + 1]) for `interleaved`.
 * Dimensions at or past `rotaryDim` are copied unchanged (partial rotary, GPT-NeoX / Phi).
 * The output has x's shape and dtype; positions may be any int32 (negative ones rotate
 * backwards; front-ends that want non-negative ids check them).
 */
export const RopeOp = defineOp<RopeAttrs>({
  name: 'rope',
  inputNames: ['x', 'positions', 'invFreq'],
  infer([x, positions, invFreq], attrs) {
    const where = 'rope';
    assertFloat(where, 'x', x!);
    assertDTypeIn(where, 'positions', positions!, ['int32']);
    assertDTypeIn(where, 'invFreq', invFreq!, ['float32']);
    if (x!.rank < 2) fail(where, `x must be [..., S, D] (rank >= 2), got ${describe(x!)}`);
    const seq = x!.shape[x!.rank - 2]!;
    const dim = x!.shape[x!.rank - 1]!;
    const { style, rotaryDim, attentionScaling } = attrs;
    if (!ROPE_STYLES.includes(style)) {
      fail(where, `style must be ${ROPE_STYLES.map((s) => `'${s}'`).join(' or ')}, got '${style}'`);
    }
    if (!Number.isInteger(rotaryDim) || rotaryDim < 2 || rotaryDim % 2 !== 0 || rotaryDim > dim) {
      fail(
        where,
        `rotaryDim must be an even integer in [2, ${dim}] (the last dimension of x ${describe(x!)}), got ${rotaryDim}`,
      );
    }
    if (!Number.isFinite(attentionScaling)) {
      fail(where, `attentionScaling must be a finite number, got ${attentionScaling}`);
    }
    if (invFreq!.rank !== 1 || invFreq!.shape[0] !== rotaryDim / 2) {
      fail(
        where,
        `invFreq must be [${rotaryDim / 2}] (rotaryDim / 2) float32, got ${describe(invFreq!)}`,
      );
    }
    const perRow = positions!.rank === 1 && positions!.shape[0] === seq;
    const perBatch =
      positions!.rank === 2 &&
      x!.rank >= 3 &&
      positions!.shape[0] === x!.shape[0] &&
      positions!.shape[1] === seq;
    if (!perRow && !perBatch) {
      fail(
        where,
        `positions must be [${seq}] or [${x!.rank >= 3 ? x!.shape[0] : 'B'}, ${seq}] for x ${describe(x!)} (sequence on dimension -2${x!.rank >= 3 ? ', batch on dimension 0' : ''}), got ${describe(positions!)}`,
      );
    }
    return [{ shape: x!.shape, dtype: x!.dtype }];
  },
});

export interface RopeOptions {
  /** Default `half`. */
  style?: RopeStyle;
  /** Default: the whole last dimension. */
  rotaryDim?: number;
  /** Default 1. */
  attentionScaling?: number;
}

/**
 * Rotate `x` `[..., S, D]` by `positions` (int32 `[S]` or `[B, S]`) with the inverse
 * frequencies `invFreq` (float32 `[rotaryDim / 2]`); see `RopeOp` for the exact contract.
 * Building the frequencies (theta, scaling) lives in `@qkv/positional`.
 */
export function rope(
  x: Tensor,
  positions: Tensor,
  invFreq: Tensor,
  options: RopeOptions = {},
): Tensor {
  assertTensors('rope', { x, positions, invFreq });
  const attrs: RopeAttrs = {
    style: options.style ?? 'half',
    rotaryDim: options.rotaryDim ?? x.shape[x.rank - 1] ?? 0,
    attentionScaling: options.attentionScaling ?? 1,
  };
  return runOp(RopeOp, [x, positions, invFreq], attrs)[0]!;
}
