import type { Random } from '@qkv/tensor';
import { fail } from './errors.js';

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); otherwise logits are divided by it. Default 0. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or absent: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: all). */
  topP?: number;
}

export function checkSampling(where: string, o: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1 } = o;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    fail(where, `temperature must be a finite number >= 0, got ${temperature}`);
  }
  if (!Number.isInteger(topK) || topK < 0) fail(where, `topK must be an integer >= 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) fail(where, `topP must be in (0, 1], got ${topP}`);
}

/** Index of the largest logit (the first one on ties, like torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/**
 * Pick the next token from one row of logits, in Hugging Face's order: temperature, then
 * top-k, then top-p (nucleus, Holtzman et al. 2020), then a draw from the softmax.
 */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, random: Random): number {
  const { temperature = 0, topK = 0, topP = 1 } = o;
  if (temperature === 0) return argmax(logits);
  const order = Array.from({ length: logits.length }, (_, i) => i).sort(
    (a, b) => logits[b]! - logits[a]! || a - b,
  );
  let kept = topK > 0 ? order.slice(0, topK) : order;
  const top = logits[kept[0]!]! / temperature;
  const weights = kept.map((i) => Math.exp(logits[i]! / temperature - top));
  let total = weights.reduce((s, w) => s + w, 0);
  if (topP < 1) {
    let cumulative = 0;
    let n = 0;
    while (n < kept.length && cumulative < topP * total) cumulative += weights[n++]!;
    kept = kept.slice(0, Math.max(1, n));
    weights.length = kept.length;
    total = weights.reduce((s, w) => s + w, 0);
  }
  let u = random.nextFloat() * total;
  for (let i = 0; i < kept.length; i++) {
    u -= weights[i]!;
    if (u < 0) return kept[i]!;
  }
  return kept[kept.length - 1]!;
}
