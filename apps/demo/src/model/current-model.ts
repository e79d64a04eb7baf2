import type { Matrix, MatrixStack } from './matrix.js';

/** A token of the current model's vocabulary as the page shows it. */
export interface ModelToken {
  id: number;
  text: string;
}

export interface NextToken extends ModelToken {
  probability: number;
}

/**
 * What the views draw from: the seeded random layer or a loaded checkpoint. Views ask it for
 * attention and predictions and never look at which one it is, except through `trained`.
 */
export interface CurrentModel {
  /** One line for the page, e.g. "gpt2 (2 layers × 3 heads) on WebGPU". */
  readonly label: string;
  /** False for the seeded random layer: its patterns are chance. */
  readonly trained: boolean;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Token ids the induction probe may draw from: [low, high). */
  readonly probeRange: readonly [number, number];
  /** Longest input the model takes (learned positions), if it has a limit. */
  readonly maxPositions?: number;
  /** Tokens put before any probe sequence (a BOS), if the model expects one. */
  readonly probePrefix: readonly number[];
  tokenize(text: string): Promise<ModelToken[]>;
  /** Per layer, the attention probabilities `[H, L, L]` over `ids`. */
  attentions(ids: readonly number[]): Promise<MatrixStack[]>;
  /** The k most likely next tokens after `ids`, for language models. */
  nextTokens?(ids: readonly number[], k: number): Promise<NextToken[]>;
  /** Greedy generation, streaming each new token. */
  generate?(
    ids: readonly number[],
    maxNewTokens: number,
    onToken: (token: ModelToken) => void,
  ): Promise<number[]>;
  /** How `generate` decodes, for the page, e.g. "greedy, with the KV cache". */
  readonly decoding?: string;
  /** Learned position embeddings `[positions, hidden]` (GPT-2's `wpe`), when the model has them. */
  positionEmbeddings?(): Promise<Matrix | undefined>;
  dispose(): void;
}
