import { compareRuns, groupByCase, QKV, timeOverQkv } from '../compare.js';
import { formatParams } from '../format.js';
import type { BenchResult } from '../result.js';
import type { Measurement, Params } from '../suite.js';

/** Chart-ready data, computed from result files without touching the DOM. */

export interface Point {
  x: number;
  medianMs: number;
  madMs: number;
  tflops?: number;
  mbPerSec?: number;
}

export interface Series {
  /** e.g. `qkv batch=8 k=64` or, with several runs, `qkv batch=8 k=64 (run-b)`. */
  label: string;
  /** The label without the run: the same line in every run. */
  line: string;
  name: string;
  run: number;
  points: Point[];
}

export interface SuiteView {
  suite: string;
  xParam: string;
  series: Series[];
  /** Each peer's time over qkv's, per case, per run. */
  peerRatios: { run: number; name: string; caseLabel: string; ratio: number }[];
  /** Later runs against the first: after / before median time, per case and name. */
  runRatios: { run: number; name: string; caseLabel: string; ratio: number }[];
  /**
   * Per run, the highest TFLOP/s any measurement reached on that run's device (every suite,
   * qkv or peer): the practical peak the suite's TFLOP/s are read against.
   */
  peaks: { run: number; tflops: number; what: string }[];
}

export function peakOf(result: BenchResult, run: number): SuiteView['peaks'][number] | undefined {
  let best: Measurement | undefined;
  for (const m of result.measurements) {
    if (m.tflops !== undefined && (!best || m.tflops > best.tflops!)) best = m;
  }
  return (
    best && {
      run,
      tflops: best.tflops!,
      what: `${best.suite} ${best.name} ${formatParams(best.params)}`,
    }
  );
}

export function suiteNames(results: readonly BenchResult[]): string[] {
  return [...new Set(results.flatMap((r) => r.measurements.map((m) => m.suite)))];
}

/**
 * The param on the x axis: the one the suite names (`Measurement.x`), else the numeric param
 * with the most distinct values.
 */
export function xParamOf(measurements: readonly Measurement[]): string {
  const named = measurements.find((m) => m.x)?.x;
  if (named) return named;
  const distinct = new Map<string, Set<number>>();
  for (const m of measurements) {
    for (const [k, v] of Object.entries(m.params)) {
      if (typeof v !== 'number') continue;
      if (!distinct.has(k)) distinct.set(k, new Set());
      distinct.get(k)!.add(v);
    }
  }
  const best = [...distinct.entries()].sort((a, b) => b[1].size - a[1].size)[0];
  return best?.[0] ?? '';
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

function caseLabel(m: Measurement): string {
  return formatParams(m.params);
}

export function suiteView(results: readonly BenchResult[], suite: string): SuiteView {
  const perRun = results.map((r) => r.measurements.filter((m) => m.suite === suite));
  const xParam = xParamOf(perRun.flat());
  const runLabel = (run: number) => (results.length > 1 ? ` (${results[run]!.name})` : '');
  const series = new Map<string, Series>();
  perRun.forEach((measurements, run) => {
    for (const m of measurements) {
      const x = m.params[xParam];
      if (typeof x !== 'number') continue;
      const line = `${m.name} ${seriesParams(m, xParam)}`.trim();
      const label = line + runLabel(run);
      if (!series.has(label)) series.set(label, { label, line, name: m.name, run, points: [] });
      const point: Point = { x, medianMs: m.medianMs, madMs: m.madMs };
      if (m.tflops !== undefined) point.tflops = m.tflops;
      if (m.mbPerSec !== undefined) point.mbPerSec = m.mbPerSec;
      series.get(label)!.points.push(point);
    }
  });
  for (const s of series.values()) s.points.sort((a, b) => a.x - b.x);

  const peerRatios: SuiteView['peerRatios'] = [];
  perRun.forEach((measurements, run) => {
    for (const group of groupByCase(measurements)) {
      for (const m of group) {
        const ratio = timeOverQkv(m, group);
        if (m.name !== QKV && ratio !== undefined) {
          peerRatios.push({ run, name: m.name, caseLabel: caseLabel(m), ratio });
        }
      }
    }
  });
  const runRatios: SuiteView['runRatios'] = [];
  for (let run = 1; run < perRun.length; run++) {
    for (const d of compareRuns(perRun[0]!, perRun[run]!)) {
      runRatios.push({ run, name: d.name, caseLabel: caseLabel(d.after), ratio: d.ratio });
    }
  }
  const peaks = results.flatMap((r, run) => peakOf(r, run) ?? []);
  return { suite, xParam, series: [...series.values()], peerRatios, runRatios, peaks };
}
