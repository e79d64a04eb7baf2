import { describe, expect, it } from 'vitest';
import { createContext, QUICK_SETTINGS } from '../context.js';
import { silentProgress } from '../progress.js';
import type { Measurement } from '../suite.js';
import { windowAgainstCausal } from './sparse.js';

describe('sparse suite', () => {
  it('times the W = 1024 window against causal and keeps the ratio with the window case', async () => {
    const results: Measurement[] = [];
    const progress = silentProgress();
    const ctx = createContext('sparse', QUICK_SETTINGS, progress, results);
    // N = 1152: the window holds every key of the first 1024 queries, 1024 of the rest.
    await windowAgainstCausal(ctx, 1, 1152);
    const qkv = results.filter((m) => m.name === 'qkv');
    expect(qkv.map((m) => m.params.pattern)).toEqual(['causal', 'sliding-window-1024']);
    const [causal, window] = qkv as [Measurement, Measurement];
    expect(window.config?.timeOverCausal).toBeCloseTo(window.medianMs / causal.medianMs, 3);
    // Fewer attended pairs than causal: N(N+1)/2 - (N-W)(N-W+1)/2 against N(N+1)/2.
    expect(window.flops! / causal.flops!).toBeCloseTo(1 - (128 * 129) / (1152 * 1153), 6);
    expect(progress.lines.join('\n')).toMatch(/W=1024 at N=1152, 1 heads: \d+\.\d{3}x/);
  });
});
