import type { LayerResult, PositionScheme } from '../model/layer.js';
import { DEFAULT_ENCODING, hexBytes, isWholeText, type ShownToken } from '../model/tokens.js';
import type { Projections } from '../model/weights.js';

export const VIEWS = [
  'tokens',
  'search',
  'heads',
  'model',
  'next',
  'masks',
  'positions',
  'train',
] as const;
export type ViewName = (typeof VIEWS)[number];

/** Views that draw the current model's attention (and so carry the random-weights banner). */
export const MODEL_VIEWS: readonly ViewName[] = ['search', 'heads', 'model', 'next'];

export const VIEW_TITLES: Record<ViewName, string> = {
  tokens: 'Tokens',
  search: 'Q·K·V as a search',
  heads: 'Heads',
  model: 'Model',
  next: 'Next token',
  masks: 'Masks & cost',
  positions: 'Positions',
  train: 'Train',
};

export interface Settings {
  text: string;
  /** Second sequence for cross-attention (keys and values come from it). */
  crossText: string;
  encoding: string;
  mode: 'self' | 'cross';
  numHeads: number;
  dModel: number;
  seed: number;
  causal: boolean;
  /** How word order enters the layer. */
  positions: PositionScheme;
  view: ViewName;
  /** Query token picked in the search view. */
  token: number;
  /** Layer and head shown in the heads view (a loaded model has several layers). */
  layer: number;
  head: number;
  /** RoPE dimension pair shown in the positions view. */
  pair: number;
  /** Masks view: the sequence length the patterns are drawn at, the local window, the largest timed N. */
  maskN: number;
  window: number;
  maxTimedN: number;
}

export const DEFAULT_SETTINGS: Settings = {
  text: "The trophy didn't fit in the suitcase because it was too big",
  crossText: "Le trophée n'entrait pas dans la valise",
  encoding: DEFAULT_ENCODING,
  mode: 'self',
  numHeads: 4,
  dModel: 32,
  seed: 7,
  causal: false,
  positions: 'none',
  view: 'tokens',
  token: 9,
  layer: 0,
  head: 0,
  pair: 2,
  maskN: 24,
  window: 4,
  maxTimedN: 256,
};

/** What the views draw, recomputed when the text or the model settings change. */
export interface Analysis {
  tokens: ShownToken[];
  /** Key / value side tokens: the same as `tokens` for self-attention. */
  keyTokens: ShownToken[];
  layer: LayerResult;
  projections: Projections;
}

/** How attention is timed and where: WebGPU (through @qkv/kernels) or the CPU. */
export interface DeviceInfo {
  webgpu: boolean;
  /** A software adapter (SwiftShader, llvmpipe): WebGPU whose shaders run on the CPU. */
  software: boolean;
  /** The adapter ("WebGPU: SwiftShader"), or why there is none ("this browser has none"). */
  label: string;
}

export function tokenLabels(
  tokens: readonly Pick<ShownToken, 'text' | 'bytes'>[] | readonly { text: string }[],
): string[] {
  // A piece of a character is labelled by its bytes: two halves of an emoji differ there.
  return tokens.map((t, i) => {
    const bytes = 'bytes' in t ? t.bytes : undefined;
    return `${i}:${!bytes || isWholeText(bytes) ? t.text : `‹${hexBytes(bytes)}›`}`;
  });
}
