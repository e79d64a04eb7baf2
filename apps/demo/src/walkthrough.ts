import { linear, matmul, randn, scope, softmax, type Tensor } from '@qkv/tensor';
import { causalAllowed, scaledScores } from './model/attend.js';

export interface WalkthroughOptions {
  tokens: readonly string[];
  /** Model width d_model; queries and keys use the same width here. */
  dModel: number;
  causal: boolean;
  seed: number;
}

export interface WalkthroughStep {
  title: string;
  /** Why this step exists, in one or two sentences. */
  note: string;
  tensor: Tensor;
  /** What the columns index: the tokens attended to, or feature dimensions. */
  columns: 'tokens' | 'features';
  ms: number;
}

/**
 * Single-head self-attention, one visible step at a time (Vaswani et al. 2017, eq. 1):
 * Q = X·Wqᵀ, K = X·Wkᵀ, V = X·Wvᵀ; scores = Q·Kᵀ / √d; weights = softmax(scores);
 * output = weights·V. Every tensor shown is returned; the caller disposes them.
 */
export function attentionWalkthrough(options: WalkthroughOptions): WalkthroughStep[] {
  const { tokens, dModel, causal, seed } = options;
  const n = tokens.length;
  const steps: WalkthroughStep[] = [];
  const timed = (
    title: string,
    note: string,
    run: () => Tensor,
    columns: WalkthroughStep['columns'] = 'features',
  ) => {
    const start = performance.now();
    const t = run();
    steps.push({ title, note, tensor: t, columns, ms: performance.now() - start });
    return t;
  };
  // Seeded random embeddings and projections stand in for a trained model's.
  const x = timed('embeddings X', `one ${dModel}-dim vector per token (seeded random)`, () =>
    randn([n, dModel], { seed }),
  );
  const weight = (offset: number) =>
    randn([dModel, dModel], { seed: seed + offset, std: 1 / Math.sqrt(dModel) });
  const [wq, wk, wv] = scope(() => [weight(1), weight(2), weight(3)]);
  const q = timed('queries Q = X·Wqᵀ', 'what each token is looking for', () => linear(x, wq!));
  const k = timed('keys K = X·Wkᵀ', 'what each token offers to be found by', () => linear(x, wk!));
  const v = timed('values V = X·Wvᵀ', 'what each token hands over when attended to', () =>
    linear(x, wv!),
  );
  for (const w of [wq, wk, wv]) w!.dispose();
  const scores = timed(
    'scores Q·Kᵀ / √d',
    'row i: how well query i matches every key; √d keeps the softmax from saturating',
    // Causal: token i may only look at tokens j <= i.
    () => scope(() => scaledScores(q, k, causal ? causalAllowed(n, n) : undefined)),
    'tokens',
  );
  const weights = timed(
    'weights softmax(scores)',
    'each row sums to 1: how much of each value flows to token i',
    () => softmax(scores),
    'tokens',
  );
  timed('output weights·V', 'each token becomes a weighted mix of the values', () =>
    matmul(weights, v),
  );
  return steps;
}
