import { describe, expect, it } from 'vitest';
import { toMeasurement } from './context.js';
import { logLogSlope, seriesSlopes } from './slope.js';
import { slopeTable } from './table.js';

describe('log-log slope', () => {
  it('recovers the exponent of a power law, with noise', () => {
    const xs = [256, 512, 1024, 2048, 4096];
    expect(logLogSlope(xs.map((x) => ({ x, ms: 3e-6 * x * x })))).toBeCloseTo(2, 10);
    expect(logLogSlope(xs.map((x) => ({ x, ms: 0.01 * x })))).toBeCloseTo(1, 10);
    // ±10% alternating noise moves a five-point fit by a few hundredths.
    const noisy = xs.map((x, i) => ({ x, ms: 1e-3 * x ** 1.5 * (i % 2 ? 1.1 : 0.9) }));
    expect(Math.abs(logLogSlope(noisy)! - 1.5)).toBeLessThan(0.1);
  });

  it('is undefined without two distinct sizes', () => {
    expect(logLogSlope([{ x: 8, ms: 1 }])).toBeUndefined();
    expect(
      logLogSlope([
        { x: 8, ms: 1 },
        { x: 8, ms: 2 },
      ]),
    ).toBeUndefined();
  });

  it('fits each named line of each suite and prints them', () => {
    const m = (suite: string, name: string, series: string, n: number, ms: number) =>
      toMeasurement(suite, name, { n, pattern: series }, [ms], { x: 'n', series });
    const measurements = [
      m('sparse', 'qkv', 'causal', 512, 4),
      m('sparse', 'qkv', 'window', 512, 2),
      m('sparse', 'qkv', 'causal', 1024, 16),
      m('sparse', 'qkv', 'window', 1024, 4),
      m('sparse', 'qkv', 'single', 1024, 4),
      // No x param: not a line.
      toMeasurement('other', 'qkv', { n: 1 }, [1]),
    ];
    const slopes = seriesSlopes(measurements);
    expect(slopes.map((s) => [s.line, s.points, Number(s.slope.toFixed(6))])).toEqual([
      ['qkv causal', 2, 2],
      ['qkv window', 2, 1],
    ]);
    expect(slopeTable(measurements)).toMatch(/^sparse +qkv causal +n +2 +2\.00$/m);
    expect(slopeTable([])).toBe('');
  });
});
