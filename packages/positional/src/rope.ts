import {
  assertTensor,
  type Device,
  keep,
  type RopeStyle,
  rope,
  type Tensor,
  tensor,
} from '@qkv/tensor';
import { assertOptions, fail } from './errors.js';
import { type PositionIds, positionTensor, resolvePositions } from './positions.js';
import {
  type RopeConfig,
  type RopeFrequencies,
  resolveRotaryDim,
  ropeInvFreq,
} from './rope-frequencies.js';

export interface RotaryEmbeddingOptions extends RopeConfig {
  /** `half` (LLaMA / GPT-NeoX `rotate_half`, the default) or `interleaved` (GPT-J). */
  readonly style?: RopeStyle;
}

export interface RopeApplyOptions {
  /**
   * Position ids: `[S]` shared by every row, or `[B, S]` per batch entry (x `[B, ..., S, D]`),
   * as an int32 tensor or host integers (a flat array of S or B·S values). Host ids must be
   * non-negative. Default: `offset + 0, 1, ..., S - 1`.
   */
  readonly positions?: PositionIds;
  /** First position when `positions` is omitted, e.g. the KV-cache length. Default 0. */
  readonly offset?: number;
  /**
   * The sequence length that length-dependent scalings (dynamic NTK, LongRoPE) see, as
   * Hugging Face's `dynamic_rope_update`. Default: the largest position + 1, when the host
   * knows the positions (`offset`, host ids, or a CPU tensor). Ids in a GPU tensor cannot be
   * read synchronously: with dynamic NTK or LongRoPE, pass `seqLen` beside them (apply throws
   * a QkvError saying so otherwise). Other scalings ignore it.
   */
  readonly seqLen?: number;
}

const SEQ_DEPENDENT = new Set(['dynamic', 'longrope']);

/**
 * Rotary position embedding (Su et al. 2021) for one configuration: it builds the inverse
 * frequencies once (per device, per sequence length for dynamic NTK / LongRoPE) and applies
 * them with the `rope` op to queries and keys `[..., S, D]`. Call `dispose()` to release the
 * cached frequency table.
 *
 * Dynamic NTK is stateful, as Hugging Face's `_dynamic_frequency_update`: the table is built
 * for the longest sequence seen so far (it only grows while sequences stay past
 * `maxPositionEmbeddings`) and returns to the pretrained one when a call's sequence fits in
 * `maxPositionEmbeddings` again. `tableLength` says which length the table serves.
 * LongRoPE picks its short or long factors from each call's sequence length.
 */
export class RotaryEmbedding {
  readonly style: RopeStyle;
  readonly rotaryDim: number;
  readonly config: RopeConfig;
  #tables = new Map<Device, { key: string; table: RopeFrequencies; invFreq: Tensor }>();
  /** Dynamic NTK's table length (Hugging Face `max_seq_len_cached`). */
  #dynamicLength: number | undefined;

  constructor(options: RotaryEmbeddingOptions) {
    assertOptions('RotaryEmbedding', options, '{ headDim } or { rotaryDim }');
    const { style = 'half', ...config } = options;
    if (style !== 'half' && style !== 'interleaved') {
      fail('RotaryEmbedding', `style must be 'half' or 'interleaved', got '${style}'`);
    }
    this.style = style;
    this.config = config;
    this.rotaryDim = resolveRotaryDim('RotaryEmbedding', config);
    // Validate the scaling now rather than on the first apply.
    ropeInvFreq(this.#configFor(undefined));
    if (config.scaling?.type === 'dynamic') {
      this.#dynamicLength = config.scaling.maxPositionEmbeddings;
    }
  }

  /**
   * The sequence length the dynamic NTK table currently serves: `maxPositionEmbeddings` until
   * a longer sequence is seen. Undefined for other scalings.
   */
  get tableLength(): number | undefined {
    return this.#dynamicLength;
  }

  /** The table for a sequence length (only dynamic NTK and LongRoPE depend on it). */
  frequencies(seqLen?: number): RopeFrequencies {
    return ropeInvFreq(this.#configFor(seqLen));
  }

  /** Rotate `x` `[..., S, D]` (float32 / float16); returns a new tensor of the same shape. */
  apply(x: Tensor, options: RopeApplyOptions = {}): Tensor {
    const where = 'RotaryEmbedding.apply';
    assertTensor(where, 'x', x);
    if (x.rank < 2) fail(where, `x must be [..., S, D], got [${x.shape.join(', ')}]`);
    const dim = x.shape[x.rank - 1]!;
    if (this.rotaryDim > dim) {
      fail(
        where,
        `rotaryDim ${this.rotaryDim} exceeds the last dimension of x [${x.shape.join(', ')}]`,
      );
    }
    const ids = resolvePositions(where, x, options);
    const tableLength = this.#tableLength(where, x, ids.max, options.seqLen);
    const invFreq = this.#invFreq(x.device, tableLength);
    const positions = positionTensor(ids, x.device);
    try {
      const out = rope(x, positions.tensor, invFreq.tensor, {
        style: this.style,
        rotaryDim: this.rotaryDim,
        attentionScaling: invFreq.attentionScaling,
      });
      // Only a call that succeeded moves the dynamic table.
      if (this.#dynamicLength !== undefined) this.#dynamicLength = tableLength;
      return out;
    } finally {
      if (positions.owned) positions.tensor.dispose();
    }
  }

  /**
   * The sequence length this call's table is built for: undefined when the scaling does not
   * depend on it, the call's length for LongRoPE, and for dynamic NTK Hugging Face's rule
   * (grow past the longest length seen; back to the pretrained table for a call that fits).
   */
  #tableLength(
    where: string,
    x: Tensor,
    maxPosition: number | undefined,
    given: number | undefined,
  ): number | undefined {
    if (given !== undefined && !(Number.isInteger(given) && given > 0)) {
      fail(where, `seqLen must be a positive integer, got ${given}`);
    }
    const scaling = this.config.scaling;
    if (!scaling || !SEQ_DEPENDENT.has(scaling.type)) return undefined;
    if (given === undefined && maxPosition === undefined) {
      fail(
        where,
        `${scaling.type} scaling depends on the sequence length and the positions live on ${x.device.name}, which apply() cannot read synchronously; pass seqLen (largest position + 1)`,
      );
    }
    const seqLen = given ?? maxPosition! + 1;
    if (scaling.type !== 'dynamic') return seqLen;
    const original = scaling.maxPositionEmbeddings;
    let length = Math.max(this.#dynamicLength ?? original, seqLen);
    if (seqLen < original && length > original) length = original;
    return length;
  }

  /** Release the cached frequency tables. */
  dispose(): void {
    for (const { invFreq } of this.#tables.values()) invFreq.dispose();
    this.#tables.clear();
  }

  #configFor(seqLen: number | undefined): RopeConfig {
    const scaling = this.config.scaling;
    if (seqLen === undefined || !scaling || !SEQ_DEPENDENT.has(scaling.type)) return this.config;
    return { ...this.config, scaling: { ...scaling, seqLen } as typeof scaling };
  }

  #invFreq(device: Device, seqLen: number | undefined) {
    const key = String(seqLen);
    let entry = this.#tables.get(device);
    if (!entry || entry.key !== key) {
      entry?.invFreq.dispose();
      const table = this.frequencies(seqLen);
      // Cached across calls, so exempt from any scope() the caller runs apply() in.
      const invFreq = keep(
        tensor(Float32Array.from(table.invFreq), [table.invFreq.length], {
          dtype: 'float32',
          device,
        }),
      );
      entry = { key, table, invFreq };
      this.#tables.set(device, entry);
    }
    return { tensor: entry.invFreq, attentionScaling: entry.table.attentionScaling };
  }
}

/**
 * Apply rotary embeddings once: `applyRope(q, { headDim: 64, theta: 5e5, positions })`.
 * For repeated calls, build a `RotaryEmbedding` and reuse it.
 */
export function applyRope(x: Tensor, options: RotaryEmbeddingOptions & RopeApplyOptions): Tensor {
  assertTensor('applyRope', 'x', x);
  assertOptions('applyRope', options, '{ headDim } or { rotaryDim }, and positions or offset');
  const { positions, offset, seqLen, ...config } = options;
  const rotary = new RotaryEmbedding({
    ...config,
    ...(config.rotaryDim === undefined && config.headDim === undefined
      ? { rotaryDim: x.shape[x.rank - 1] }
      : {}),
  });
  try {
    return rotary.apply(x, { positions, offset, seqLen });
  } finally {
    rotary.dispose();
  }
}
