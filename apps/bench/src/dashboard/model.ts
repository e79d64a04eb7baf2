import { compareRuns, groupByCase, roleOf, timeOverQkv } from '../compare.js';
import { caseKey, formatParams } from '../format.js';
import type { BenchResult } from '../result.js';
import { logLogSlope } from '../slope.js';
import type { Measurement, Params, Role } from '../suite.js';
import { peakLabel } from '../summary.js';

/** Chart-ready data, computed from result files without touching the DOM. */

export interface Point {
  x: number;
  medianMs: number;
  madMs: number;
  tflops?: number;
  mbPerSec?: number;
  peakBytes?: number;
}

export interface Series {
  /** e.g. `qkv batch=8 k=64` or, with several runs, `qkv batch=8 k=64 (run-b)`. */
  label: string;
  /** The label without the run: the same line in every run. */
  line: string;
  name: string;
  role: Role | 'qkv';
  /** The chart the line is drawn on (`Measurement.group`; '' when the suite is not split). */
  group: string;
  run: number;
  points: Point[];
  /** Least-squares slope of log(time) against log(x), with two or more sizes. */
  slope?: number;
}

/** Another's time over qkv's (or a later run's over the first's) on one case. */
export interface Ratio {
  run: number;
  name: string;
  /** The line of the measurement compared, without the run (as `Series.line`). */
  line: string;
  group: string;
  /** The case's x value, in suites with an x axis. */
  x?: number;
  /** The params that tell the suite's cases apart. */
  caseLabel: string;
  ratio: number;
  /** The agreement check before timing failed (`config.agreement === 'disagrees'`). */
  disagrees?: boolean;
}

export interface SuiteView {
  suite: string;
  /**
   * The param on the x axis, where the suite names one (`Measurement.x`); without it the
   * cases are unrelated sizes and are drawn side by side, not as lines.
   */
  xParam?: string;
  /** Chart groups in first-seen order (`['']` when the suite is not split). */
  groups: string[];
  series: Series[];
  /** Cases in first-seen order with their short labels (for suites without an x axis). */
  cases: string[];
  /** Per case: each peer's time over qkv's. */
  peerRatios: Ratio[];
  /** Per case: each of qkv's variants' time over qkv's (e.g. materialised over fused). */
  variantRatios: Ratio[];
  /** Later runs against the first: after / before median time, per case and name. */
  runRatios: Ratio[];
  /**
   * Per run, the device's peak TFLOP/s the suite's TFLOP/s are read against: what the `peak`
   * suite measured (`measured: true`), else, in runs without it, the best any measurement of
   * the run reached (every suite, qkv or peer).
   */
  peaks: { run: number; tflops: number; what: string; measured: boolean }[];
}

/** The suite whose measurements are the device's measured peak (see `suites/peak.ts`). */
export const PEAK_SUITE = 'peak';

/** More lines than this on one chart are hard to follow; unsplit suites are split. */
export const MAX_LINES = 8;

function fastest(measurements: readonly Measurement[]): Measurement | undefined {
  let best: Measurement | undefined;
  for (const m of measurements) {
    if (m.tflops !== undefined && (!best || m.tflops > best.tflops!)) best = m;
  }
  return best;
}

export function peakOf(result: BenchResult, run: number): SuiteView['peaks'][number] | undefined {
  const measured = fastest(result.measurements.filter((m) => m.suite === PEAK_SUITE));
  const best = measured ?? fastest(result.measurements);
  return (
    best && {
      run,
      tflops: best.tflops!,
      what: measured
        ? peakLabel(measured)
        : `${best.suite} ${best.name} ${formatParams(best.params)}`,
      measured: measured !== undefined,
    }
  );
}

export function suiteNames(results: readonly BenchResult[]): string[] {
  return [...new Set(results.flatMap((r) => r.measurements.map((m) => m.suite)))];
}

/** The param on the x axis: the one the suite names (`Measurement.x`), if any. */
export function xParamOf(measurements: readonly Measurement[]): string | undefined {
  return measurements.find((m) => m.x)?.x;
}

/**
 * What distinguishes one line from another: the suite's `series` label, else the params other
 * than x, leaving out those equal to x (a square matmul's m and k equal its n).
 */
function seriesParams(m: Measurement, xParam: string): string {
  if (m.series !== undefined) return m.series;
  const params = m.params;
  const x = params[xParam];
  const rest: Params = {};
  for (const [k, v] of Object.entries(params)) if (k !== xParam && v !== x) rest[k] = v;
  return formatParams(rest);
}

/** The params that differ between some of `measurements`: enough to tell cases apart. */
function varyingParams(measurements: readonly Measurement[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const m of measurements) {
    for (const [k, v] of Object.entries(m.params)) {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(String(v));
    }
  }
  return [...values.entries()].filter(([, v]) => v.size > 1).map(([k]) => k);
}

/**
 * The chart of each line: the suite's `group` (or, for a measurement without one, that of qkv
 * on the same case), else, when the suite has more lines than a
 * chart holds and names no groups, the first word of the line's series (`D=64 causal`).
 */
function groupOf(measurements: readonly Measurement[]): (m: Measurement) => string {
  if (measurements.some((m) => m.group !== undefined)) {
    // A measurement without a group (a part of qkv's op, say) goes with qkv on its case.
    const ofCase = new Map<string, string>();
    for (const m of measurements) {
      if (m.group !== undefined && roleOf(m) === 'qkv')
        ofCase.set(caseKey(m.suite, m.params), m.group);
    }
    return (m) => m.group ?? ofCase.get(caseKey(m.suite, m.params)) ?? '';
  }
  const lines = new Set(measurements.map((m) => `${m.name}|${m.series ?? ''}`));
  const firstWord = (m: Measurement) => m.series?.split(' ')[0] ?? '';
  const words = new Set(measurements.map(firstWord));
  return lines.size > MAX_LINES && words.size > 1 && words.size <= 4 ? firstWord : () => '';
}

export function suiteView(results: readonly BenchResult[], suite: string): SuiteView {
  const perRun = results.map((r) => r.measurements.filter((m) => m.suite === suite));
  const all = perRun.flat();
  const xParam = xParamOf(all);
  const group = groupOf(all);
  const varying = varyingParams(all);
  const caseLabel = (m: Measurement) =>
    varying.map((k) => `${k}=${m.params[k]}`).join(' ') || formatParams(m.params);
  const runLabel = (run: number) => (results.length > 1 ? ` (${results[run]!.name})` : '');
  const lineOf = (m: Measurement) =>
    xParam === undefined ? m.name : `${m.name} ${seriesParams(m, xParam)}`.trim();
  const series = new Map<string, Series>();
  const cases: string[] = [];
  perRun.forEach((measurements, run) => {
    for (const m of measurements) {
      const label = caseLabel(m);
      if (!cases.includes(label)) cases.push(label);
      const x = xParam === undefined ? cases.indexOf(label) : m.params[xParam];
      if (typeof x !== 'number') continue;
      const line = lineOf(m);
      const key = line + runLabel(run);
      if (!series.has(key)) {
        series.set(key, {
          label: key,
          line,
          name: m.name,
          role: roleOf(m),
          group: group(m),
          run,
          points: [],
        });
      }
      const point: Point = { x, medianMs: m.medianMs, madMs: m.madMs };
      if (m.tflops !== undefined) point.tflops = m.tflops;
      if (m.mbPerSec !== undefined) point.mbPerSec = m.mbPerSec;
      if (m.peakBytes !== undefined) point.peakBytes = m.peakBytes;
      series.get(key)!.points.push(point);
    }
  });
  for (const s of series.values()) {
    s.points.sort((a, b) => a.x - b.x);
    if (xParam === undefined) continue;
    const slope = logLogSlope(s.points.map((p) => ({ x: p.x, ms: p.medianMs })));
    if (slope !== undefined) s.slope = slope;
  }

  const ratioOf = (run: number, m: Measurement, ratio: number): Ratio => {
    const r: Ratio = {
      run,
      name: m.name,
      line: lineOf(m),
      group: group(m),
      caseLabel: caseLabel(m),
      ratio,
    };
    const x = xParam === undefined ? undefined : m.params[xParam];
    if (typeof x === 'number') r.x = x;
    if (m.config?.agreement === 'disagrees') r.disagrees = true;
    return r;
  };
  const peerRatios: Ratio[] = [];
  const variantRatios: Ratio[] = [];
  perRun.forEach((measurements, run) => {
    for (const g of groupByCase(measurements)) {
      for (const m of g) {
        const ratio = timeOverQkv(m, g);
        if (ratio === undefined) continue;
        (roleOf(m) === 'peer' ? peerRatios : variantRatios).push(ratioOf(run, m, ratio));
      }
    }
  });
  const runRatios: Ratio[] = [];
  for (let run = 1; run < perRun.length; run++) {
    for (const d of compareRuns(perRun[0]!, perRun[run]!))
      runRatios.push(ratioOf(run, d.after, d.ratio));
  }
  const groups = [...new Set([...series.values()].map((s) => s.group))];
  const peaks = results.flatMap((r, run) => peakOf(r, run) ?? []);
  return {
    suite,
    ...(xParam === undefined ? {} : { xParam }),
    groups,
    series: [...series.values()],
    cases,
    peerRatios,
    variantRatios,
    runRatios,
    peaks,
  };
}
