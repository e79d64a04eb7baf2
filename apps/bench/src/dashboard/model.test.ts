import { describe, expect, it } from 'vitest';
import { toMeasurement } from '../context.js';
import { type BenchResult, RESULT_FORMAT, RESULT_VERSION } from '../result.js';
import type { Params } from '../suite.js';
import { suiteNames, suiteView, xParamOf } from './model.js';

const m = (name: string, params: Params, ms: number, x?: string) =>
  toMeasurement('matmul', name, params, [ms], x ? { x } : {});

function run(name: string, scale: number): BenchResult {
  const measurements = [16, 32].flatMap((n) => [
    m('qkv', { batch: 1, m: n, k: n, n }, n * scale, 'n'),
    m('peer', { batch: 1, m: n, k: n, n }, (n * scale) / 4, 'n'),
    m('qkv', { batch: 8, m: n, k: 64, n }, 2 * n * scale, 'n'),
  ]);
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    name,
    createdAt: '2026-01-01T00:00:00.000Z',
    options: { quick: true, device: 'cpu', suites: ['matmul'], warmup: 0, repeats: 1 },
    environment: {} as BenchResult['environment'],
    measurements,
    errors: [],
  };
}

describe('dashboard model', () => {
  it('plots against the named param, else the one with most distinct values', () => {
    expect(xParamOf([m('a', { n: 1, h: 1 }, 1, 'h')])).toBe('h');
    expect(xParamOf([m('a', { n: 1, h: 1, s: 'x' }, 1), m('a', { n: 2, h: 1, s: 'y' }, 1)])).toBe(
      'n',
    );
  });

  it('uses the series label a suite gives', () => {
    const a = toMeasurement('s', 'qkv', { n: 4, k: 4 }, [1], { x: 'n', series: 'square' });
    const b = toMeasurement('s', 'qkv', { n: 64, k: 64 }, [1], { x: 'n', series: 'heads' });
    const c = toMeasurement('s', 'qkv', { n: 128, k: 64 }, [1], { x: 'n', series: 'heads' });
    const view = suiteView([{ ...run('a', 1), measurements: [a, b, c] }], 's');
    expect(view.series.map((s) => [s.label, s.points.length])).toEqual([
      ['qkv square', 1],
      ['qkv heads', 2],
    ]);
  });

  it('makes one line per name and fixed params; params that follow x are not a series', () => {
    const view = suiteView([run('a', 1)], 'matmul');
    expect(view.series.map((s) => s.label)).toEqual([
      'qkv batch=1',
      'peer batch=1',
      'qkv batch=8 k=64',
    ]);
    expect(view.series[0]!.points.map((p) => [p.x, p.medianMs])).toEqual([
      [16, 16],
      [32, 32],
    ]);
  });

  it('gives each peer time over qkv time per case, and later runs over the first', () => {
    const view = suiteView([run('a', 1), run('b', 2)], 'matmul');
    expect(suiteNames([run('a', 1)])).toEqual(['matmul']);
    expect(view.peerRatios.map((r) => [r.run, r.name, r.ratio])).toEqual([
      [0, 'peer', 0.25],
      [0, 'peer', 0.25],
      [1, 'peer', 0.25],
      [1, 'peer', 0.25],
    ]);
    expect(view.runRatios).toHaveLength(6);
    expect(view.runRatios.every((r) => r.run === 1 && r.ratio === 2)).toBe(true);
    expect(view.series.map((s) => s.label)).toContain('qkv batch=8 k=64 (b)');
  });

  it("finds each run's best TFLOP/s across all its measurements", () => {
    const r = run('a', 1);
    r.measurements.push(toMeasurement('other', 'peer', { n: 2 }, [1], { flops: 5e9 }));
    r.measurements.push(toMeasurement('other', 'qkv', { n: 2 }, [1], { flops: 1e9 }));
    const view = suiteView([r, run('b', 1)], 'matmul');
    expect(view.peaks).toEqual([{ run: 0, tflops: 5, what: 'other peer n=2' }]);
  });
});
