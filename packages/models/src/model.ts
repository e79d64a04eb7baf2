import {
  type Device,
  keep,
  narrow,
  Random,
  scope,
  type Tensor,
  tensor,
  transpose,
} from '@qkv/tensor';
import type { HfTokenizer } from '@qkv/tokenizer';
import type { ConfigJson, Network, Weights } from './architectures/architecture.js';
import { fail } from './errors.js';
import { ForwardContext } from './forward-context.js';
import { ModelCache } from './model-cache.js';
import { checkSampling, type SamplingOptions, sampleToken } from './sampling.js';

/** Token ids `[B][L]` on the host, or an int32 tensor `[B, L]` on the model's device. */
export type TokenIds = readonly (readonly number[])[] | Tensor;

export interface ForwardOptions {
  /**
   * 1 for a token, 0 for padding, `[B][L]` (or `[B][past + L]` with a cache, as Hugging Face
   * takes it). Left or right padding; padded keys are never attended to.
   */
  attentionMask?: readonly (readonly number[])[];
  /** BERT's segment ids `[B][L]` (default all 0). */
  tokenTypeIds?: readonly (readonly number[])[];
  /** Also return every layer's attention probabilities `[B, H, L, S]`. */
  outputAttentions?: boolean;
  /** Attend to the positions this cache holds and append the new ones (causal models). */
  cache?: ModelCache;
  /**
   * Logits for only the last this-many positions (Hugging Face's `logits_to_keep`); 0, the
   * default, keeps all. The LM head is the largest matmul of a small model's step.
   */
  logitsToKeep?: number;
}

export interface ModelOutput {
  /** `[B, L, vocab]`, for causal language models. */
  logits?: Tensor;
  /** `[B, L, hidden]`: after the final norm (decoders), BertModel's last_hidden_state (BERT). */
  lastHiddenState: Tensor;
  /** Per layer `[B, H, L, S]` probabilities, when `outputAttentions`. */
  attentions?: Tensor[];
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most (default 20). */
  maxNewTokens?: number;
  /** Seed of the sampler (ignored when greedy). Default 0. */
  seed?: number;
  /** Generation of a row ends after it produces one of these (default: config's eos_token_id). */
  stopTokens?: readonly number[];
  /** Called with every new token as soon as it is chosen (row 0 for a single prompt). */
  onToken?: (token: number, row: number) => void;
  /** Batched prompts: 1 / 0 per prompt position (left padding). */
  attentionMask?: readonly (readonly number[])[];
}

export interface ModelParts {
  readonly modelType: string;
  readonly kind: 'causal-lm' | 'encoder';
  readonly config: ConfigJson;
  readonly network: Network;
  /** The parameters `network` reads, by canonical checkpoint name. */
  readonly weights: Weights;
  readonly device: Device;
  readonly tokenizer: HfTokenizer | undefined;
  readonly tokenizerConfig: Record<string, unknown> | undefined;
}

function checkRows(
  where: string,
  name: string,
  rows: readonly (readonly number[])[],
  batch: number,
  length: number,
  valid: (v: number) => boolean,
  expected: string,
): void {
  if (!Array.isArray(rows) || rows.length !== batch) {
    fail(
      where,
      `${name} must have ${batch} rows ([B][L]), got ${Array.isArray(rows) ? rows.length : typeof rows}`,
    );
  }
  rows.forEach((row, b) => {
    if (!Array.isArray(row) || row.length !== length) {
      fail(
        where,
        `${name}[${b}] must have ${length} entries, got ${Array.isArray(row) ? row.length : typeof row}`,
      );
    }
    const bad = row.findIndex((v) => !valid(v));
    if (bad >= 0) fail(where, `${name}[${b}][${bad}] is ${row[bad]}; expected ${expected}`);
  });
}

/**
 * A loaded model: `forward` over token ids (logits, hidden states, attention probabilities),
 * `generate` with a KV cache, and the tokenizer from tokenizer.json. Call `dispose()` to
 * release its parameters.
 */
export class Model {
  readonly modelType: string;
  readonly kind: 'causal-lm' | 'encoder';
  /** config.json as read. */
  readonly config: ConfigJson;
  readonly device: Device;
  readonly tokenizer: HfTokenizer | undefined;
  readonly tokenizerConfig: Record<string, unknown> | undefined;
  #network: Network | undefined;
  readonly #weights: Weights;

  constructor(parts: ModelParts) {
    this.modelType = parts.modelType;
    this.kind = parts.kind;
    this.config = parts.config;
    this.device = parts.device;
    this.tokenizer = parts.tokenizer;
    this.tokenizerConfig = parts.tokenizerConfig;
    this.#network = parts.network;
    this.#weights = parts.weights;
  }

  /**
   * The parameters by the checkpoint's names (without a head class's prefix such as GPT-2's
   * `transformer.`), live: the forward reads them from this map at every call, so pass the
   * values to `grads` / `valueAndGrads` from `@qkv/tensor`, or the map to an optimizer from
   * `@qkv/train`, whose steps replace its entries and so update the model. The model owns
   * the tensors. Weights of linear layers and a tied embedding are held transposed
   * (`[in, out]`, `[dim, vocab]`: the layout matmul reads fastest) and are named in
   * {@link transposedParameters}; {@link stateDict} gives the checkpoint's layout.
   */
  parameters(): Map<string, Tensor> {
    this.#live('parameters');
    return this.#weights.live;
  }

  /** Names in {@link parameters} whose tensors are the transpose of the checkpoint's. */
  get transposedParameters(): ReadonlySet<string> {
    return this.#weights.transposed;
  }

  /**
   * The parameters in the checkpoint's names and layout (`torch`'s `state_dict()` of the
   * loaded model, less buffers and tied copies): new tensors the caller owns (tensors are
   * immutable, so an untransposed one is a second handle on the same storage; disposing it
   * leaves the model as it is).
   */
  stateDict(): Map<string, Tensor> {
    const live = this.parameters();
    const transposed = this.#weights.transposed;
    return new Map(
      [...live].map(([name, t]) => [
        name,
        transposed.has(name) ? transpose(t) : t.reshape(t.shape),
      ]),
    );
  }

  get numLayers(): number {
    return this.#live('numLayers').numLayers;
  }

  /** An empty KV cache for `batch` rows, for `forward(..., { cache })`. */
  createCache(batch = 1): ModelCache {
    this.#live('createCache');
    if (this.kind !== 'causal-lm')
      fail('createCache', `${this.modelType} is not a causal language model`);
    return new ModelCache(batch);
  }

  forward(inputIds: TokenIds, options: ForwardOptions = {}): ModelOutput {
    const where = `${this.modelType}.forward`;
    const network = this.#live(where);
    const { cache, outputAttentions = false } = options;
    const isTensor = !Array.isArray(inputIds);
    let batch: number;
    let length: number;
    if (isTensor) {
      const t = inputIds as Tensor;
      if (t.rank !== 2 || t.dtype !== 'int32') {
        fail(where, `inputIds must be an int32 tensor [B, L], got ${t.toString()}`);
      }
      if (t.device !== this.device) {
        fail(where, `inputIds is on ${t.device.name} but the model is on ${this.device.name}`);
      }
      [batch, length] = t.shape as [number, number];
    } else {
      const rows = inputIds as readonly (readonly number[])[];
      batch = rows.length;
      length = rows[0]?.length ?? 0;
      if (batch === 0 || length === 0) fail(where, 'inputIds must be [B][L] with B, L >= 1');
      checkRows(
        where,
        'inputIds',
        rows,
        batch,
        length,
        (v) => Number.isInteger(v) && v >= 0 && v < network.vocabSize,
        `a token id in [0, ${network.vocabSize})`,
      );
    }
    if (cache) {
      if (this.kind !== 'causal-lm')
        fail(where, `${this.modelType} takes no cache (it is not a causal model)`);
      if (!(cache instanceof ModelCache) || cache.batch !== batch) {
        fail(where, `cache must come from createCache(${batch}) for a batch of ${batch}`);
      }
    }
    const past = cache?.position ?? 0;
    let mask: readonly (readonly number[])[] = Array.from({ length: batch }, () =>
      Array(length).fill(1),
    );
    if (options.attentionMask) {
      const full = options.attentionMask[0]?.length === past + length && past > 0;
      checkRows(
        where,
        'attentionMask',
        options.attentionMask,
        batch,
        full ? past + length : length,
        (v) => v === 0 || v === 1,
        '1 (token) or 0 (padding)',
      );
      mask = full ? options.attentionMask.map((r) => r.slice(past)) : options.attentionMask;
    }
    if (options.tokenTypeIds) {
      const types = network.typeVocabSize;
      if (types === undefined) fail(where, `${this.modelType} takes no tokenTypeIds`);
      checkRows(
        where,
        'tokenTypeIds',
        options.tokenTypeIds,
        batch,
        length,
        (v) => Number.isInteger(v) && v >= 0 && v < types,
        `a token type in [0, ${types})`,
      );
    }
    const logitsToKeep = options.logitsToKeep ?? 0;
    if (!Number.isInteger(logitsToKeep) || logitsToKeep < 0 || logitsToKeep > length) {
      fail(where, `logitsToKeep must be an integer in [0, ${length}], got ${logitsToKeep}`);
    }
    const ctx = new ForwardContext({
      device: this.device,
      batch,
      length,
      causal: network.causal,
      slidingWindow: network.slidingWindow,
      mask,
      cache,
      outputAttentions,
      positionsFromMask: network.causal,
    });
    if (network.maxPositions !== undefined && ctx.maxPosition >= network.maxPositions) {
      fail(
        where,
        `position ${ctx.maxPosition} is past the model's ${network.maxPositions} learned positions`,
      );
    }
    const upload = (rows: readonly (readonly number[])[]) =>
      tensor(Int32Array.from(rows.flat()), [batch, length], {
        dtype: 'int32',
        device: this.device,
      });
    const result = scope(() => {
      const ids = isTensor
        ? (inputIds as Tensor)
        : upload(inputIds as readonly (readonly number[])[]);
      const types = options.tokenTypeIds ? upload(options.tokenTypeIds) : undefined;
      const { hidden } = network.forward(ids, ctx, types);
      return {
        hidden,
        logits: network.lmHead?.(
          logitsToKeep > 0 ? narrow(hidden, 1, length - logitsToKeep, logitsToKeep) : hidden,
        ),
        attentions: ctx.attentions,
        layers: ctx.layers,
      };
    });
    if (cache) {
      // The cache outlives any scope() the caller runs forward in.
      for (const l of result.layers) {
        keep(l.keys);
        keep(l.values);
      }
      // A sliding window bounds what later queries see: keep only those positions.
      const window = network.slidingWindow;
      cache.commit(result.layers, ctx.newMask, window === undefined ? undefined : window - 1);
    }
    return {
      lastHiddenState: result.hidden,
      ...(result.logits ? { logits: result.logits } : {}),
      ...(outputAttentions ? { attentions: result.attentions } : {}),
    };
  }

  /**
   * Generate up to `maxNewTokens` after the prompt, decoding one token at a time against a KV
   * cache (the prompt runs once). Returns the new ids: `number[]` for one prompt, one list per
   * row for a batch. Greedy unless `temperature` > 0.
   */
  async generate(
    promptIds: readonly number[] | readonly (readonly number[])[],
    options: GenerateOptions = {},
  ): Promise<number[] | number[][]> {
    const where = `${this.modelType}.generate`;
    const network = this.#live(where);
    if (this.kind !== 'causal-lm')
      fail(where, `${this.modelType} is an encoder; it cannot generate`);
    const single = !Array.isArray(promptIds[0]);
    const rows = (single ? [promptIds] : promptIds) as readonly (readonly number[])[];
    const { maxNewTokens = 20, seed = 0, onToken } = options;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      fail(where, `maxNewTokens must be an integer >= 0, got ${maxNewTokens}`);
    }
    checkSampling(where, options);
    const eos = this.config.eos_token_id;
    const stops = new Set(
      options.stopTokens ?? (Array.isArray(eos) ? eos : typeof eos === 'number' ? [eos] : []),
    );
    const batch = rows.length;
    const random = new Random(seed);
    const generated: number[][] = rows.map(() => []);
    const done = rows.map(() => false);
    const cache = this.createCache(batch);
    try {
      let next: readonly (readonly number[])[] = rows;
      let mask = options.attentionMask;
      for (let step = 0; step < maxNewTokens; step++) {
        const last = await this.#lastLogits(network, next, mask, cache);
        for (let b = 0; b < batch; b++) {
          if (done[b]) continue;
          const token = sampleToken(last[b]!, options, random);
          generated[b]!.push(token);
          onToken?.(token, b);
          if (stops.has(token)) done[b] = true;
        }
        if (done.every(Boolean)) break;
        // Finished rows keep decoding (their tokens are dropped) so the batch stays aligned.
        next = generated.map((g, b) => [g[g.length - 1] ?? rows[b]![rows[b]!.length - 1]!]);
        mask = undefined;
      }
    } finally {
      cache.dispose();
    }
    return single ? generated[0]! : generated;
  }

  /** Run the new positions and read the last position's logits of each row to the host. */
  async #lastLogits(
    network: Network,
    ids: readonly (readonly number[])[],
    attentionMask: readonly (readonly number[])[] | undefined,
    cache: ModelCache,
  ): Promise<Float32Array[]> {
    const out = this.forward(ids, {
      cache,
      logitsToKeep: 1,
      ...(attentionMask ? { attentionMask } : {}),
    });
    out.lastHiddenState.dispose();
    try {
      const data = (await out.logits!.data()) as Float32Array;
      const v = network.vocabSize;
      return Array.from({ length: ids.length }, (_, b) => data.subarray(b * v, (b + 1) * v));
    } finally {
      out.logits!.dispose();
    }
  }

  /** Release the parameters; the model cannot be used afterwards. */
  dispose(): void {
    this.#network?.dispose?.();
    this.#network = undefined;
    this.#weights.disposeAll();
  }

  #live(where: string): Network {
    if (!this.#network) fail(where, 'the model was disposed');
    return this.#network;
  }
}
