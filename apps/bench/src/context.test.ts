import { describe, expect, it } from 'vitest';
import { createContext, DEFAULT_SETTINGS } from './context.js';
import { silentProgress } from './progress.js';
import type { Measurement } from './suite.js';

describe('measure', () => {
  it('runs warm-up then timed repeats and records the statistics', async () => {
    const results: Measurement[] = [];
    const progress = silentProgress();
    const ctx = createContext(
      's',
      { ...DEFAULT_SETTINGS, warmup: 2, repeats: 5 },
      progress,
      results,
    );
    let calls = 0;
    const m = await ctx.measure(
      'qkv',
      { n: 8 },
      () => {
        calls++;
      },
      { flops: 1e9, bytes: 1e6, x: 'n', config: { threads: 1 } },
    );
    expect(calls).toBe(7);
    expect(m.samplesMs).toHaveLength(5);
    expect(results).toEqual([m]);
    expect(m.minMs).toBe(Math.min(...m.samplesMs));
    expect(m.tflops).toBeCloseTo(1e9 / (m.medianMs * 1e-3) / 1e12, 12);
    expect(m.mbPerSec).toBeCloseTo(1e6 / (m.medianMs * 1e-3) / 1e6, 12);
    expect(m.x).toBe('n');
    expect(m.config).toEqual({ threads: 1 });
    expect(progress.lines.join('\n')).toMatch(/s qkv n=8: median .* \(min .*, 5 samples\)/);
  });

  it('stops sampling a slow case at the time budget once it has minRepeats samples', async () => {
    const settings = { ...DEFAULT_SETTINGS, warmup: 0, repeats: 100, budgetMs: 20, minRepeats: 3 };
    const ctx = createContext('s', settings, silentProgress(), []);
    const m = await ctx.measure('slow', {}, () => new Promise((r) => setTimeout(r, 15)));
    expect(m.samplesMs).toHaveLength(3);
    expect(m.medianMs).toBeGreaterThanOrEqual(10);
  });

  it('awaits asynchronous work inside the timed region', async () => {
    const ctx = createContext(
      's',
      { ...DEFAULT_SETTINGS, warmup: 0, repeats: 3 },
      silentProgress(),
      [],
    );
    const m = await ctx.measure('wait', {}, () => new Promise((r) => setTimeout(r, 12)));
    expect(m.minMs).toBeGreaterThanOrEqual(10);
  });
});
