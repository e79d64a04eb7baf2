import { readFileSync } from 'node:fs';
import { tensor } from '@qkv/tensor';
import { describe, it } from 'vitest';
import { blockSparseAttention } from './block-sparse-attention.js';
import type { Expr } from './expr.js';
import { causal, slidingWindow, sparseTransformerStrided } from './patterns.js';
import { expectAllClose } from './test-utils.js';

// Masked attention computed by PyTorch in float64 (fixtures/generate.py) against the CPU
// kernel, with block sizes that do not divide the sequence.

interface AttentionFixture {
  name: string;
  shape: [number, number, number, number, number];
  q: number[];
  k: number[];
  v: number[];
  out: number[];
}

const fixtures: { attention: AttentionFixture[] } = JSON.parse(
  readFileSync(new URL('../fixtures/sparse-fixtures.json', import.meta.url), 'utf8'),
);

const masks: Record<string, Expr> = {
  causal: causal(),
  'sliding window 4': slidingWindow(4),
  'strided 3': sparseTransformerStrided(3),
};

describe('blockSparseAttention against PyTorch', () => {
  it.each(fixtures.attention.map((f) => [f.name, f] as const))('%s', (name, f) => {
    const [b, h, L, S, E] = f.shape;
    const q = tensor(f.q, [b, h, L, E]);
    const k = tensor(f.k, [b, h, S, E]);
    const v = tensor(f.v, [b, h, S, E]);
    for (const blockSize of [3, 5, 16]) {
      const out = blockSparseAttention(q, k, v, masks[name]!, { blockSize });
      expectAllClose(out.dataSync(), f.out, 1e-5, 1e-5);
      out.dispose();
    }
    for (const t of [q, k, v]) t.dispose();
  });
});
