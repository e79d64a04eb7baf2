import { gather, permute, type Tensor, tensor } from '@qkv/tensor';
import { fail } from './errors.js';
import { matrixSizes, type StateDict, takeMatrix } from './state-dict.js';

export interface T5BucketOptions {
  /** Encoder self-attention: true (default); decoder (causal): false. */
  bidirectional?: boolean;
  /** Default 32. */
  numBuckets?: number;
  /** Distances from here on share the last bucket. Default 128. */
  maxDistance?: number;
}

interface BucketParams {
  bidirectional: boolean;
  /** Buckets per direction. */
  buckets: number;
  maxExact: number;
  /** ln(maxDistance / maxExact) rounded to float32. */
  logRange: number;
}

function bucketParams(where: string, options: T5BucketOptions): BucketParams {
  const { bidirectional = true, numBuckets = 32, maxDistance = 128 } = options;
  if (!Number.isInteger(numBuckets) || numBuckets < (bidirectional ? 4 : 2)) {
    fail(
      where,
      `numBuckets must be an integer >= ${bidirectional ? 4 : 2}${bidirectional ? ' (bidirectional halves it)' : ''}, got ${numBuckets}`,
    );
  }
  const buckets = bidirectional ? Math.floor(numBuckets / 2) : numBuckets;
  const maxExact = Math.floor(buckets / 2);
  if (!Number.isInteger(maxDistance) || maxDistance <= maxExact) {
    fail(
      where,
      `maxDistance must be an integer > ${maxExact} (the exact buckets), got ${maxDistance}`,
    );
  }
  return {
    bidirectional,
    buckets,
    maxExact,
    logRange: Math.fround(Math.log(maxDistance / maxExact)),
  };
}

function bucketOf(relative: number, p: BucketParams): number {
  let bucket = 0;
  let distance: number;
  if (p.bidirectional) {
    if (relative > 0) bucket += p.buckets;
    distance = Math.abs(relative);
  } else {
    distance = -Math.min(relative, 0);
  }
  if (distance < p.maxExact) return bucket + distance;
  // Logarithmic buckets up to maxDistance; float32 steps as Hugging Face's torch code, so
  // bucket edges agree with it.
  const f = Math.fround;
  const scaled = f(
    f(f(Math.log(f(distance / p.maxExact))) / p.logRange) * (p.buckets - p.maxExact),
  );
  return bucket + Math.min(p.maxExact + Math.trunc(scaled), p.buckets - 1);
}

/**
 * The T5 relative position bucket (Raffel et al. 2020, §2.1; Hugging Face
 * `T5Attention._relative_position_bucket`) of `relativePosition` = key − query: half the
 * buckets (per direction) hold exact small distances, the rest grow logarithmically up to
 * `maxDistance`. Causal (bidirectional false) maps every future position to bucket 0.
 */
export function t5RelativeBucket(relativePosition: number, options: T5BucketOptions = {}): number {
  if (!Number.isInteger(relativePosition)) {
    fail('t5RelativeBucket', `relativePosition must be an integer, got ${relativePosition}`);
  }
  return bucketOf(relativePosition, bucketParams('t5RelativeBucket', options));
}

/** Buckets `[L, S]` for query positions `queryOffset + i` and key positions `j`. */
export function t5RelativeBuckets(
  queryLength: number,
  keyLength: number,
  options: T5BucketOptions & { queryOffset?: number } = {},
): Int32Array {
  const where = 't5RelativeBuckets';
  const params = bucketParams(where, options);
  const { queryOffset = 0 } = options;
  for (const [name, n] of [
    ['queryLength', queryLength],
    ['keyLength', keyLength],
    ['queryOffset', queryOffset],
  ] as const) {
    if (!Number.isInteger(n) || n < 0)
      fail(where, `${name} must be a non-negative integer, got ${n}`);
  }
  const out = new Int32Array(queryLength * keyLength);
  for (let i = 0; i < queryLength; i++) {
    for (let j = 0; j < keyLength; j++)
      out[i * keyLength + j] = bucketOf(j - (queryOffset + i), params);
  }
  return out;
}

/** Where Hugging Face T5 checkpoints keep the table (first layer of each stack). */
export const T5_RELATIVE_BIAS_NAMES = {
  encoder: 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
  decoder: 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
} as const;

/**
 * T5's learned relative position bias: a `[numBuckets, numHeads]` table (Hugging Face
 * `relative_attention_bias`, an embedding over buckets) turned into an additive attention
 * bias `[H, L, S]`. T5 does not scale scores by 1/√d, so use the bias with attention
 * `scale: 1`. The weight stays owned by the caller.
 */
export class T5RelativeBias {
  readonly numBuckets: number;
  readonly numHeads: number;
  readonly bidirectional: boolean;
  readonly maxDistance: number;

  constructor(
    readonly weight: Tensor,
    options: Omit<T5BucketOptions, 'numBuckets'> = {},
  ) {
    [this.numBuckets, this.numHeads] = matrixSizes(
      'T5RelativeBias',
      weight,
      'numBuckets',
      'numHeads',
    );
    this.bidirectional = options.bidirectional ?? true;
    this.maxDistance = options.maxDistance ?? 128;
    bucketParams('T5RelativeBias', this.#bucketOptions());
  }

  /**
   * Load from a T5 state dict: the encoder's table (bidirectional) by default, or the
   * decoder's with `{ decoder: true }` (causal buckets).
   */
  static fromStateDict(
    stateDict: StateDict,
    options: {
      decoder?: boolean;
      name?: string;
      numHeads?: number;
      numBuckets?: number;
      maxDistance?: number;
    } = {},
  ): T5RelativeBias {
    const decoder = options.decoder ?? false;
    const name = options.name ?? T5_RELATIVE_BIAS_NAMES[decoder ? 'decoder' : 'encoder'];
    const weight = takeMatrix('T5RelativeBias.fromStateDict', stateDict, [name], {
      rows: options.numBuckets,
      cols: options.numHeads,
      rowsName: 'numBuckets',
      colsName: 'numHeads',
    });
    return new T5RelativeBias(weight, {
      bidirectional: !decoder,
      ...(options.maxDistance !== undefined ? { maxDistance: options.maxDistance } : {}),
    });
  }

  /**
   * The bias `[H, L, S]` for `queryLength` queries at positions `queryOffset + i` (default
   * 0; the cache length when decoding) against `keyLength` keys, on the weight's device.
   */
  forward(queryLength: number, keyLength: number, options: { queryOffset?: number } = {}): Tensor {
    const buckets = t5RelativeBuckets(queryLength, keyLength, {
      ...this.#bucketOptions(),
      ...options,
    });
    const ids = tensor(buckets, [queryLength, keyLength], {
      dtype: 'int32',
      device: this.weight.device,
    });
    const perPair = gather(this.weight, ids, 0); // [L, S, H]
    ids.dispose();
    const bias = permute(perPair, [2, 0, 1]);
    perPair.dispose();
    return bias;
  }

  #bucketOptions(): T5BucketOptions {
    return {
      bidirectional: this.bidirectional,
      numBuckets: this.numBuckets,
      maxDistance: this.maxDistance,
    };
  }
}
