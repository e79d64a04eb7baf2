import { readFileSync } from 'node:fs';
import type { RopeConfig } from '../rope-frequencies.js';

/** Reference values written by `fixtures/generate.py` (PyTorch). */
export interface PositionalFixtures {
  torch: string;
  ropeFrequencies: { config: RopeConfig; invFreq: number[]; attentionScaling: number }[];
  rope: {
    style: 'half' | 'interleaved';
    config: RopeConfig;
    shape: number[];
    positionsShape: number[];
    positions: number[];
    /** PyTorch's float32 table for the config, and its attention scaling. */
    invFreq: number[];
    attentionScaling: number;
    x: number[];
    out: number[];
  }[];
  sinusoidal: { length: number; dim: number; base: number; table: number[] }[];
  alibi: { numHeads: number; slopes: number[] }[];
  t5Buckets: {
    bidirectional: boolean;
    numBuckets: number;
    maxDistance: number;
    relative: number[];
    buckets: number[];
  }[];
}

export const fixtures: PositionalFixtures = JSON.parse(
  readFileSync(new URL('../../fixtures/positional.json', import.meta.url), 'utf8'),
);

/**
 * Indices where `|actual - expected| > atol + rtol * |expected|`, formatted as rows of
 * index / actual / expected for a readable failure.
 */
export function mismatches(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
): string[] {
  const rows: string[] = [];
  if (actual.length !== expected.length) {
    return [`length ${actual.length} != expected ${expected.length}`];
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      if (rows.length < 10) rows.push(`[${i}] actual ${a} expected ${e} (diff ${a - e})`);
      else if (rows.length === 10) rows.push('...');
    }
  }
  return rows;
}
