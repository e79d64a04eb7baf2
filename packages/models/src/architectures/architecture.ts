import type { Device, Tensor } from '@qkv/tensor';
import { fail } from '../errors.js';
import type { ForwardContext } from '../forward-context.js';

/** A model's config.json, as parsed JSON. */
export type ConfigJson = Readonly<Record<string, unknown>>;

/** What a network's forward returns (tensors owned by the caller). */
export interface NetworkOutput {
  /** `[B, L, hidden]` after the final norm (BERT: the last layer's output). */
  readonly hidden: Tensor;
}

/** A built model: modules holding their parameters, and a forward over token ids. */
export interface Network {
  readonly numLayers: number;
  /** Key/value heads and head width, for the KV cache. */
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** Largest position the model can embed (learned positions), if it has one. */
  readonly maxPositions: number | undefined;
  /** Decoders attend causally; BERT both ways. */
  readonly causal: boolean;
  /** Mistral's sliding window, when the model has one. */
  readonly slidingWindow?: number;
  /** ids `[B, L]` int32 on the model's device; token types `[B, L]` for models that have them. */
  forward(ids: Tensor, ctx: ForwardContext, tokenTypeIds?: Tensor): NetworkOutput;
  /** Causal LMs: logits `[..., vocab]` of hidden states `[..., hidden]`. */
  lmHead?(hidden: Tensor): Tensor;
  /** Token types the model embeds (BERT), if any. */
  readonly typeVocabSize?: number;
  dispose(): void;
}

/**
 * One Hugging Face architecture: how to read its config, which parameters (by the
 * checkpoint's names) and shapes the config implies, and how to build its modules.
 */
export interface Architecture<C> {
  readonly modelTypes: readonly string[];
  /** `causal-lm` models generate; `encoder` models (BERT) only run forward. */
  readonly kind: 'causal-lm' | 'encoder';
  /** Validate config.json; errors name the missing or malformed field. */
  parseConfig(json: ConfigJson): C;
  /** Every parameter the model needs: canonical name → shape. */
  parameters(config: C): Map<string, readonly number[]>;
  /**
   * The canonical name of a checkpoint tensor (stripping a head class's prefix such as
   * GPT-2's `transformer.`), or undefined for tensors the model does not use (buffers,
   * other heads).
   */
  canonicalName(name: string): string | undefined;
  build(config: C, weights: Weights, device: Device): Network;
}

/** Loaded parameters by canonical name; `take` hands one to the module that owns it. */
export class Weights {
  readonly #tensors: Map<string, Tensor>;
  readonly #taken = new Set<string>();

  constructor(tensors: Map<string, Tensor>) {
    this.#tensors = tensors;
  }

  take(name: string): Tensor {
    const t = this.#tensors.get(name);
    if (!t) fail('Weights.take', `no parameter "${name}" was loaded`);
    this.#taken.add(name);
    return t;
  }

  has(name: string): boolean {
    return this.#tensors.has(name);
  }

  /** Dispose what no module took (and, after a failed build, everything). */
  disposeUntaken(): void {
    for (const [name, t] of this.#tensors) if (!this.#taken.has(name)) t.dispose();
  }

  disposeAll(): void {
    for (const t of this.#tensors.values()) t.dispose();
  }
}

/** Read config fields with errors that name the field and what was expected. */
export class ConfigReader {
  constructor(
    readonly json: ConfigJson,
    readonly modelType: string,
  ) {}

  int(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      this.fail(key, 'a positive integer', v);
    }
    return v as number;
  }

  number(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a number', v);
    return v as number;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false', v);
    return v as boolean;
  }

  string(key: string, fallback: string): string {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'string') this.fail(key, 'a string', v);
    return v as string;
  }

  fail(key: string, expected: string, got: unknown): never {
    fail(
      'loadModel',
      `config.json (${this.modelType}): "${key}" must be ${expected}, got ${JSON.stringify(got)}`,
    );
  }
}
