import { cpu, liveTensors } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { timeMaskedAttention } from './cost.js';
import { embedTokens } from './embeddings.js';
import { patternMask } from './masks.js';

describe('timing and embeddings', () => {
  it('times masked attention on a device and frees what it made', async () => {
    const before = liveTensors();
    const t = await timeMaskedAttention(cpu(), patternMask('sliding window', 37), 8, 2);
    expect(t.n).toBe(37);
    expect(t.ms).toBeGreaterThan(0);
    expect(liveTensors()).toBe(before);
  });

  it('gives a token id the same vector wherever it appears, and other ids other vectors', () => {
    const e = embedTokens([5, 9, 5], 6, 3);
    const rows = [0, 1, 2].map((r) => [...e.dataSync().slice(r * 6, r * 6 + 6)]);
    expect(rows[2]).toEqual(rows[0]);
    expect(rows[1]).not.toEqual(rows[0]);
    const other = embedTokens([5], 6, 4);
    expect([...other.dataSync()]).not.toEqual(rows[0]);
    e.dispose();
    other.dispose();
  });
});
