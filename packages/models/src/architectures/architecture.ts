import { type Device, type Tensor, transpose } from '@qkv/tensor';
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
  /** Release what the network holds besides its parameters (those belong to `Weights`). */
  dispose?(): void;
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

/**
 * One parameter slot of a module. Modules read `value` at every forward, so replacing the
 * entry in the model's live parameter map (what an optimizer step from `@qkv/train` does)
 * updates the model.
 */
export class Param {
  readonly #store: Map<string, Tensor>;

  constructor(
    readonly name: string,
    store: Map<string, Tensor>,
  ) {
    this.#store = store;
  }

  get value(): Tensor {
    const t = this.#store.get(this.name);
    if (!t) fail('Model.forward', `parameter "${this.name}" is missing from model.parameters()`);
    return t;
  }
}

/**
 * Loaded parameters by canonical name; `take` hands a slot to the module that reads it. After
 * the build, the map holds exactly the parameters the modules read (`Model.parameters()`).
 */
export class Weights {
  readonly #tensors: Map<string, Tensor>;
  readonly #taken = new Set<string>();
  readonly #transposed = new Set<string>();

  constructor(tensors: Map<string, Tensor>) {
    this.#tensors = tensors;
  }

  take(name: string): Param {
    if (!this.#tensors.has(name)) fail('Weights.take', `no parameter "${name}" was loaded`);
    this.#taken.add(name);
    return new Param(name, this.#tensors);
  }

  /**
   * `take`, with the tensor replaced by its transpose (released at once). WebGPU's matmul
   * reads a transposed right operand several times slower than a row-major one (7-8x on
   * SwiftShader at GPT-2's shapes; the CPU is indifferent), so such weights are held in the
   * layout matmul wants and `stateDict` transposes them back.
   */
  takeTransposed(name: string): Param {
    const param = this.take(name);
    if (!this.#transposed.has(name)) {
      const loaded = param.value;
      this.#tensors.set(name, transpose(loaded));
      loaded.dispose();
      this.#transposed.add(name);
    }
    return param;
  }

  has(name: string): boolean {
    return this.#tensors.has(name);
  }

  /** Names whose tensors are held transposed (see `takeTransposed`). */
  get transposed(): ReadonlySet<string> {
    return this.#transposed;
  }

  /** The live map the modules read from. */
  get live(): Map<string, Tensor> {
    return this.#tensors;
  }

  /** Dispose and forget what no module took (and, after a failed build, everything). */
  disposeUntaken(): void {
    for (const [name, t] of this.#tensors) {
      if (this.#taken.has(name)) continue;
      t.dispose();
      this.#tensors.delete(name);
    }
  }

  disposeAll(): void {
    for (const t of this.#tensors.values()) t.dispose();
    this.#tensors.clear();
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
