import { describe, expect, it, vi } from 'vitest';
import { createContext, DEFAULT_SETTINGS, toMeasurement } from './context.js';
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

  it('times batches of calls when asked, for coarse clocks, and records the mean per call', async () => {
    // A clock that moves only when the measured function runs: 0.5 ms per call.
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock);
    try {
      const settings = { ...DEFAULT_SETTINGS, warmup: 0, repeats: 3, minSampleMs: 4 };
      const ctx = createContext('s', settings, silentProgress(), []);
      let calls = 0;
      const m = await ctx.measure('tiny', {}, () => {
        calls++;
        clock += 0.5;
      });
      // Calibration tries 1, 2, 4 and 8 calls; 8 reach 4 ms.
      expect(m.callsPerSample).toBe(8);
      expect(calls).toBe(1 + 2 + 4 + 8 + 3 * 8);
      expect(m.samplesMs).toEqual([0.5, 0.5, 0.5]);
    } finally {
      now.mockRestore();
    }
  });

  it('gives no rate when the clock could not see the call', () => {
    const m = toMeasurement('s', 'x', {}, [0, 0, 0], { flops: 10, bytes: 10 });
    expect(m.tflops).toBeUndefined();
    expect(m.mbPerSec).toBeUndefined();
    expect(m.flops).toBe(10);
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
