import { describe, expect, it } from 'vitest';
import { toMeasurement } from '../context.js';
import type { BenchResult } from '../result.js';
import type { Params } from '../suite.js';
import { testResult } from '../test-result.js';
import { suiteNames, suiteView, xParamOf } from './model.js';

const m = (name: string, params: Params, ms: number, x?: string) =>
  toMeasurement('matmul', name, params, [ms], x ? { x } : {});

function run(name: string, scale: number): BenchResult {
  const measurements = [16, 32].flatMap((n) => [
    m('qkv', { batch: 1, m: n, k: n, n }, n * scale, 'n'),
    m('peer', { batch: 1, m: n, k: n, n }, (n * scale) / 4, 'n'),
    m('qkv', { batch: 8, m: n, k: 64, n }, 2 * n * scale, 'n'),
  ]);
  return testResult(name, measurements);
}

describe('dashboard model', () => {
  it('plots against the param a suite names; without one, cases are unrelated bars', () => {
    expect(xParamOf([m('a', { n: 1, h: 1 }, 1, 'h')])).toBe('h');
    const unrelated = [m('qkv', { n: 1, h: 8 }, 1), m('qkv', { n: 2, h: 4 }, 2)];
    expect(xParamOf(unrelated)).toBeUndefined();
    const view = suiteView([{ ...run('a', 1), measurements: unrelated }], 'matmul');
    expect(view.xParam).toBeUndefined();
    // Case labels name only what differs between cases.
    expect(view.cases).toEqual(['n=1 h=8', 'n=2 h=4']);
    expect(view.series.map((s) => [s.label, s.points.map((p) => p.x)])).toEqual([['qkv', [0, 1]]]);
  });

  it('keeps variants and parts of qkv apart from peers', () => {
    const x = { x: 'n', series: 's' };
    const ms = [
      toMeasurement('t', 'qkv', { n: 4 }, [2], x),
      toMeasurement('t', 'peer', { n: 4 }, [4], x),
      toMeasurement('t', 'qkv materialised', { n: 4 }, [6], x),
      toMeasurement('t', 'qkv-mask-build', { n: 4 }, [1], { ...x, role: 'part' }),
    ];
    const view = suiteView([{ ...run('a', 1), measurements: ms }], 't');
    expect(view.peerRatios.map((r) => [r.name, r.ratio])).toEqual([['peer', 2]]);
    expect(view.variantRatios.map((r) => [r.name, r.ratio])).toEqual([['qkv materialised', 3]]);
    expect(view.series.map((s) => s.role)).toEqual(['qkv', 'peer', 'variant', 'part']);
  });

  it('splits lines into the groups a suite names, else by first word when there are many', () => {
    const named = [64, 128].map((d) =>
      toMeasurement('t', 'qkv', { d, n: 4 }, [1], { x: 'n', series: `D=${d}`, group: `D=${d}` }),
    );
    expect(suiteView([{ ...run('a', 1), measurements: named }], 't').groups).toEqual([
      'D=64',
      'D=128',
    ]);
    const many = ['x', 'y'].flatMap((w) =>
      ['a', 'b', 'c', 'd', 'e'].map((v) =>
        toMeasurement('t', 'qkv', { w, v, n: 4 }, [1], { x: 'n', series: `${w} ${v}` }),
      ),
    );
    expect(suiteView([{ ...run('a', 1), measurements: many }], 't').groups).toEqual(['x', 'y']);
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
    expect(view.peaks).toEqual([{ run: 0, tflops: 5, what: 'other peer n=2', measured: false }]);
  });

  it("takes the peak suite's measurement as the run's peak, below the best op if need be", () => {
    const r = run('a', 1);
    r.measurements.push(toMeasurement('other', 'qkv', { n: 2 }, [1], { flops: 5e9 }));
    r.measurements.push(
      toMeasurement('peak', 'fma-chains', { backend: 'cpu' }, [1], { flops: 3e9 }),
    );
    expect(suiteView([r], 'matmul').peaks).toEqual([
      {
        run: 0,
        tflops: 3,
        what: 'single-thread JavaScript peak (float64 multiply-add chains)',
        measured: true,
      },
    ]);
  });

  it('fits a log-log slope per line and carries peak memory', () => {
    const r = run('a', 1);
    r.measurements[0]!.peakBytes = 4096;
    const view = suiteView([r], 'matmul');
    // run() makes time proportional to n.
    for (const s of view.series) expect(s.slope).toBeCloseTo(1, 10);
    expect(view.series[0]!.points[0]!.peakBytes).toBe(4096);
  });
});
