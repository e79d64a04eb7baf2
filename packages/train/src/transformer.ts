import {
  add,
  attention,
  attentionWeights,
  type Device,
  gather,
  layerNorm,
  linear,
  narrow,
  permute,
  scope,
  type Tensor,
} from '@qkv/tensor';
import { fail } from './errors.js';
import { linearInit, normalInit } from './init.js';
import type { Parameters } from './optimizers.js';

/**
 * A decoder-only transformer with attention layers and no MLPs (Elhage et al. 2021, "A
 * Mathematical Framework for Transformer Circuits"): token and learned position embeddings,
 * then per layer x += W_O · attention(W_Q x, W_K x, W_V x) with a causal mask, then the
 * unembedding. No layer norm and no biases, so each head's contribution stays readable.
 */
export interface TransformerConfig {
  vocabSize: number;
  dModel: number;
  numHeads: number;
  numLayers: number;
  /** Longest sequence (rows of the position embedding). */
  contextLength: number;
  /**
   * Layer norm without affine parameters before each layer's projections and before the
   * unembedding (pre-LN); keeps the stream's scale steady, which shortens training.
   */
  layerNorm?: boolean;
}

/** Parameter names, as a PyTorch module with the same layout would list them. */
export function parameterShapes(config: TransformerConfig): Map<string, number[]> {
  const { vocabSize: v, dModel: d, numLayers, contextLength } = config;
  const shapes = new Map<string, number[]>([
    ['embed.weight', [v, d]],
    ['pos_embed.weight', [contextLength, d]],
  ]);
  for (let l = 0; l < numLayers; l++) {
    for (const p of ['q', 'k', 'v', 'o']) shapes.set(`layers.${l}.${p}.weight`, [d, d]);
  }
  shapes.set('unembed.weight', [v, d]);
  return shapes;
}

/**
 * Embeddings `N(0, embedStd²)` (default 1, `nn.Embedding`'s), projections as `nn.Linear`
 * (`U(±1/√d)`), seeded. Small embeddings (GPT-2's 0.02) make q·k near zero at the start, and
 * an attention-only model then sits on a long plateau before its heads move.
 */
export function initParameters(
  config: TransformerConfig,
  options: { seed: number; device?: Device; embedStd?: number },
): Parameters {
  checkConfig(config);
  const params: Parameters = new Map();
  let seed = options.seed;
  for (const [name, shape] of parameterShapes(config)) {
    const common = { seed: seed++, ...(options.device ? { device: options.device } : {}) };
    params.set(
      name,
      name.includes('embed')
        ? normalInit(shape, options.embedStd ?? 1, common)
        : linearInit(shape, common),
    );
  }
  return params;
}

function checkConfig(config: TransformerConfig): void {
  const { dModel, numHeads } = config;
  if (!Number.isInteger(dModel / numHeads)) {
    fail('transformer', `dModel ${dModel} must be a multiple of numHeads ${numHeads}`);
  }
}

const norm = (config: TransformerConfig, x: Tensor) => (config.layerNorm ? layerNorm(x) : x);

/** `[B, T, d]` → `[B, H, T, d/H]`. */
function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, t, d] = x.shape as [number, number, number];
  return permute(x.reshape([b, t, heads, d / heads]), [0, 2, 1, 3]);
}

function param(params: Parameters, name: string): Tensor {
  const p = params.get(name);
  if (!p) fail('transformer', `parameter ${name} is missing`);
  return p;
}

/** The residual stream after the embeddings, `[B, T, d]`, for int32 tokens `[B, T]`. */
function embed(config: TransformerConfig, params: Parameters, tokens: Tensor): Tensor {
  const t = tokens.shape[1]!;
  if (tokens.rank !== 2 || tokens.dtype !== 'int32' || t > config.contextLength) {
    fail(
      'transformer',
      `tokens must be int32 [B, T] with T <= ${config.contextLength}, got [${tokens.shape.join(', ')}] ${tokens.dtype}`,
    );
  }
  const positions = narrow(param(params, 'pos_embed.weight'), 0, 0, t);
  return add(gather(param(params, 'embed.weight'), tokens, 0), positions);
}

/**
 * The residual stream after every layer, `[B, T, d]`; `visit(l, q, k)` sees each layer's
 * queries and keys `[B, H, T, d/H]`. Runs in the caller's scope.
 */
function residual(
  config: TransformerConfig,
  params: Parameters,
  tokens: Tensor,
  visit?: (layer: number, q: Tensor, k: Tensor) => void,
): Tensor {
  let x = embed(config, params, tokens);
  const [b, t, d] = x.shape as [number, number, number];
  for (let l = 0; l < config.numLayers; l++) {
    const normed = norm(config, x);
    const head = (p: string) =>
      splitHeads(linear(normed, param(params, `layers.${l}.${p}.weight`)), config.numHeads);
    const q = head('q');
    const k = head('k');
    visit?.(l, q, k);
    const heads = attention(q, k, head('v'), { isCausal: true });
    const merged = permute(heads, [0, 2, 1, 3]).reshape([b, t, d]);
    x = add(x, linear(merged, param(params, `layers.${l}.o.weight`)));
  }
  return x;
}

/** Logits `[B, T, V]` for int32 tokens `[B, T]`. */
export function forward(config: TransformerConfig, params: Parameters, tokens: Tensor): Tensor {
  return scope(() =>
    linear(norm(config, residual(config, params, tokens)), param(params, 'unembed.weight')),
  );
}

/** Each layer's attention probabilities `[B, H, T, T]` on `tokens` (for inspection). */
export function attentionPatterns(
  config: TransformerConfig,
  params: Parameters,
  tokens: Tensor,
): Tensor[] {
  return scope(() => {
    const patterns: Tensor[] = [];
    residual(config, params, tokens, (_, q, k) => {
      patterns.push(attentionWeights(q, k, { isCausal: true }));
    });
    return patterns;
  });
}
