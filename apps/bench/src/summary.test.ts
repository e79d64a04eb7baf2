import { describe, expect, it } from 'vitest';
import { toMeasurement } from './context.js';
import { factorWords, speedWords } from './format.js';
import { spreadOf, summarizeRun, summaryLines, summaryText } from './summary.js';
import { testResult } from './test-result.js';

const run = testResult;

const x = { x: 'n', series: 'square' };
const cases = (scale: number) =>
  [16, 32, 64].flatMap((n) => [
    toMeasurement('t', 'qkv', { n }, [n * n * scale], x),
    // The peer takes 1/183 of qkv's time; the variant three times it.
    toMeasurement('t', 'peer', { n }, [(n * n) / 183], x),
    toMeasurement('t', 'qkv materialised', { n }, [3 * n * n * scale], x),
    toMeasurement('t', 'qkv-step', { n }, [1], { ...x, role: 'part' }),
  ]);

describe('ratios in words', () => {
  it('says how many times faster or slower, never a fraction', () => {
    expect(speedWords(1 / 183, 'qkv')).toBe('qkv is 183x slower');
    expect(speedWords(2.1, 'qkv')).toBe('qkv is 2.1x faster');
    expect(factorWords(1.01)).toBe('as fast');
    expect(factorWords(1 / 1.05)).toBe('1.05x slower');
    expect(factorWords(25)).toBe('25x faster');
  });

  it('takes the median of ratios (geometric mean of the middle two)', () => {
    expect(spreadOf([4, 1, 2])).toEqual({ median: 2, min: 1, max: 4, cases: 3 });
    expect(spreadOf([1, 4])!.median).toBe(2);
    expect(spreadOf([])).toBeUndefined();
  });
});

describe('run summary', () => {
  it('puts qkv against each peer and variant, its slopes, and leaves parts out', () => {
    const [s] = summarizeRun(run('a', cases(1)));
    expect(s!.against.map((a) => [a.name, a.role, a.spread.cases])).toEqual([
      ['peer', 'peer', 3],
      ['qkv materialised', 'variant', 3],
    ]);
    const lines = summaryLines(s!);
    expect(lines[0]).toBe('against peer: qkv is 183x slower (median of 3 cases)');
    expect(lines[1]).toBe(
      'against its own path "qkv materialised": qkv is 3.0x faster (median of 3 cases)',
    );
    expect(lines[2]).toBe(
      'time grows as n^k, k = 2.00 (qkv square), 2.00 (qkv materialised square)',
    );
    expect(lines.join('\n')).not.toMatch(/qkv-step/);
  });

  it('says what changed since an earlier run', () => {
    const text = summaryText(run('b', cases(0.5)), run('a', cases(1)));
    expect(text).toMatch(/^t\n/);
    expect(text).toMatch(/qkv since a: 2\.0x faster \(median of 3 cases\)/);
    expect(text).toMatch(/peer since a: unchanged/);
  });

  it('reports an agreement check and flags a peer whose outputs disagree', () => {
    const ms = cases(1).filter((m) => m.name === 'qkv' || m.name === 'peer');
    for (const m of ms) {
      if (m.name === 'peer') m.config = { agreement: 'agrees', maxAbsDiff: 2e-7 };
    }
    expect(summaryLines(summarizeRun(run('a', ms))[0]!)[0]).toMatch(
      /outputs agree, largest difference 2\.0e-7\)$/,
    );
    ms[1]!.config = { agreement: 'disagrees', maxAbsDiff: 0.4 };
    expect(summaryLines(summarizeRun(run('a', ms))[0]!)[0]).toMatch(
      /^against peer: OUTPUTS DISAGREE in 1 of 3 cases \(largest difference 4\.0e-1\)/,
    );
  });

  it("names the peak suite's measurement for what it is", () => {
    const peak = toMeasurement('peak', 'fma-chains', { backend: 'cpu', threads: 1 }, [1000], {
      flops: 2e9,
    });
    expect(summaryText(run('a', [peak]))).toBe(
      'peak\n  single-thread JavaScript peak (float64 multiply-add chains): 2.00 GFLOP/s',
    );
  });
});
