import { compareRuns, groupByCase, roleOf, timeOverQkv } from './compare.js';
import { factorWords, formatNumber, speedWords } from './format.js';
import type { BenchResult } from './result.js';
import { seriesSlopes } from './slope.js';
import type { Measurement } from './suite.js';

/**
 * What a run shows, per suite, in a few sentences: where qkv stands against each peer and
 * each of its own variants, how its time grows, the measured peak, and what changed since
 * an earlier run. The CLI prints it; the dashboard puts it at the top of the page.
 */

/** Median and range of per-case ratios. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  cases: number;
}

export interface SuiteSummary {
  suite: string;
  /** Per peer or variant: its time over qkv's on the same cases (above 1: qkv is faster). */
  against: {
    name: string;
    role: 'peer' | 'variant';
    spread: Spread;
    /** The largest output difference found by the agreement check, where one was recorded. */
    maxAbsDiff?: number;
    /** Cases whose agreement check failed (`config.agreement === 'disagrees'`). */
    disagreements?: number;
  }[];
  /** Log-log slopes of qkv's own lines (its op and variants) against the suite's x. */
  slopes: { line: string; xParam: string; slope: number }[];
  /** The `peak` suite's measurement, in words. */
  peak?: { label: string; tflops: number };
  /** Per name: this run's time over the earlier run's on the cases both have. */
  changes: { name: string; spread: Spread }[];
}

export function spreadOf(ratios: readonly number[]): Spread | undefined {
  if (ratios.length === 0) return undefined;
  const sorted = [...ratios].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : Math.sqrt(sorted[mid - 1]! * sorted[mid]!);
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, cases: sorted.length };
}

/**
 * What the `peak` suite measured, named for what it is: on the CPU the rate of one
 * JavaScript thread (qkv's CPU backend's ceiling, not the machine's: multi-threaded native
 * peers can exceed it), on WebGPU a WGSL kernel of fma chains.
 */
export function peakLabel(m: Measurement): string {
  return m.params.backend === 'cpu'
    ? 'single-thread JavaScript peak (float64 multiply-add chains)'
    : 'WGSL fma-chain peak of the adapter';
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Per suite of `result`, in order; `earlier` adds what changed. */
export function summarizeRun(result: BenchResult, earlier?: BenchResult): SuiteSummary[] {
  const suites = [...new Set(result.measurements.map((m) => m.suite))];
  return suites.map((suite) => {
    const ms = result.measurements.filter((m) => m.suite === suite);
    const ratios: {
      name: string;
      role: 'peer' | 'variant';
      ratio: number;
      diff?: number;
      disagrees: boolean;
    }[] = [];
    for (const group of groupByCase(ms)) {
      for (const m of group) {
        const ratio = timeOverQkv(m, group);
        const role = roleOf(m);
        const diff = m.config?.maxAbsDiff;
        if (ratio !== undefined && (role === 'peer' || role === 'variant'))
          ratios.push({
            name: m.name,
            role,
            ratio,
            disagrees: m.config?.agreement === 'disagrees',
            ...(typeof diff === 'number' ? { diff } : {}),
          });
      }
    }
    const against = [...groupBy(ratios, (r) => r.name).entries()].map(([name, rs]) => {
      const diffs = rs.flatMap((r) => (r.diff === undefined ? [] : [r.diff]));
      return {
        name,
        role: rs[0]!.role,
        spread: spreadOf(rs.map((r) => r.ratio))!,
        ...(diffs.length > 0 ? { maxAbsDiff: Math.max(...diffs) } : {}),
        ...(rs.some((r) => r.disagrees)
          ? { disagreements: rs.filter((r) => r.disagrees).length }
          : {}),
      };
    });
    const slopes = seriesSlopes(ms.filter((m) => roleOf(m) === 'qkv' || roleOf(m) === 'variant'))
      .filter((s) => s.points >= 2)
      .map((s) => ({ line: s.line, xParam: s.xParam, slope: s.slope }));
    const summary: SuiteSummary = { suite, against, slopes, changes: [] };
    const peak = suite === 'peak' ? ms.find((m) => m.tflops !== undefined) : undefined;
    if (peak) summary.peak = { label: peakLabel(peak), tflops: peak.tflops! };
    if (earlier) {
      const before = earlier.measurements.filter((m) => m.suite === suite);
      const deltas = groupBy(compareRuns(before, ms), (d) => d.name);
      for (const [name, ds] of deltas) {
        summary.changes.push({ name, spread: spreadOf(ds.map((d) => d.ratio))! });
      }
    }
    return summary;
  });
}

function spreadWords(s: Spread): string {
  if (s.cases === 1) return '1 case';
  const range =
    factorWords(s.min) === factorWords(s.max)
      ? ''
      : `; from ${factorWords(s.min)} to ${factorWords(s.max)}`;
  return `median of ${s.cases} cases${range}`;
}

/** Rates below a TFLOP/s read better in GFLOP/s. */
export function formatFlops(tflops: number): string {
  return tflops >= 1 ? `${formatNumber(tflops)} TFLOP/s` : `${formatNumber(tflops * 1000)} GFLOP/s`;
}

/** One suite's summary as sentences. */
export function summaryLines(s: SuiteSummary, earlierName?: string): string[] {
  const lines: string[] = [];
  if (s.peak) lines.push(`${s.peak.label}: ${formatFlops(s.peak.tflops)}`);
  for (const a of s.against) {
    const what = a.role === 'peer' ? `against ${a.name}` : `against its own path "${a.name}"`;
    if (a.disagreements) {
      lines.push(
        `${what}: OUTPUTS DISAGREE in ${a.disagreements} of ${a.spread.cases} cases (largest difference ${a.maxAbsDiff?.toExponential(1)}), so its times are for reference only: ${speedWords(a.spread.median, 'qkv')} (${spreadWords(a.spread)})`,
      );
      continue;
    }
    const agreed =
      a.maxAbsDiff === undefined
        ? ''
        : `; outputs agree, largest difference ${a.maxAbsDiff.toExponential(1)}`;
    lines.push(
      `${what}: ${speedWords(a.spread.median, 'qkv')} (${spreadWords(a.spread)}${agreed})`,
    );
  }
  if (s.slopes.length > 0) {
    const byX = groupBy(s.slopes, (x) => x.xParam);
    for (const [x, slopes] of byX) {
      lines.push(
        `time grows as ${x}^k, k = ${slopes.map((l) => `${l.slope.toFixed(2)} (${l.line})`).join(', ')}`,
      );
    }
  }
  for (const c of s.changes) {
    // Earlier time over this run's: above 1, this run is faster.
    const words = factorWords(1 / c.spread.median);
    lines.push(
      `${c.name} since ${earlierName ?? 'the earlier run'}: ${words === 'as fast' ? 'unchanged' : words} (${spreadWords(invert(c.spread))})`,
    );
  }
  return lines;
}

/** The spread of the reciprocal ratios (after/before becomes before/after). */
function invert(s: Spread): Spread {
  return { median: 1 / s.median, min: 1 / s.max, max: 1 / s.min, cases: s.cases };
}

/** The summary of a run as text for the terminal. */
export function summaryText(result: BenchResult, earlier?: BenchResult): string {
  return summarizeRun(result, earlier)
    .map((s) => {
      const lines = summaryLines(s, earlier?.name);
      return lines.length > 0 ? `${s.suite}\n${lines.map((l) => `  ${l}`).join('\n')}` : '';
    })
    .filter(Boolean)
    .join('\n');
}
