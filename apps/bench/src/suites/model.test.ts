import { describe, expect, it } from 'vitest';
import { createContext, QUICK_SETTINGS } from '../context.js';
import { silentProgress } from '../progress.js';
import type { Measurement } from '../suite.js';
import { modelSuite } from './model.js';

describe('model suite', () => {
  it('times prefill, decode at each cache length and generation, with flat live buffers', async () => {
    const results: Measurement[] = [];
    const progress = silentProgress();
    await modelSuite.run(createContext('model', QUICK_SETTINGS, progress, results));
    for (const model of ['gpt2-small', 'smollm2-135m']) {
      const mine = results.filter((m) => m.params.model === model);
      expect(mine.map((m) => m.name)).toEqual([
        'qkv prefill',
        'qkv decode',
        'qkv decode',
        'qkv generate',
      ]);
      const generate = mine[3]!;
      expect(generate.config?.liveBuffersLast).toBe(generate.config?.liveBuffersFirst);
      expect(generate.config?.decodeTokensPerSec).toBeGreaterThan(0);
    }
    expect(progress.lines.join('\n')).toMatch(/prefill 8 tokens: [\d.]+ tokens\/s/);
  });
});
