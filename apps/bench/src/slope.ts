import type { Measurement } from './suite.js';

/**
 * Least-squares slope of log(time) against log(x): about 1 for work linear in x, 2 for
 * quadratic. Undefined with fewer than two distinct positive x values.
 */
export function logLogSlope(points: readonly { x: number; ms: number }[]): number | undefined {
  const usable = points.filter((p) => p.x > 0 && p.ms > 0);
  const xs = usable.map((p) => Math.log(p.x));
  const ys = usable.map((p) => Math.log(p.ms));
  if (new Set(xs).size < 2) return undefined;
  const mx = xs.reduce((a, c) => a + c, 0) / xs.length;
  const my = ys.reduce((a, c) => a + c, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

export interface SeriesSlope {
  suite: string;
  /** What ran and its line: `qkv causal`, `qkv-block-mask-build sliding-window-256`. */
  line: string;
  xParam: string;
  points: number;
  slope: number;
}

/**
 * The fitted slope of every line that names its x param (`MeasureOptions.x` and `series`),
 * in the order lines first appear.
 */
export function seriesSlopes(measurements: readonly Measurement[]): SeriesSlope[] {
  const lines = new Map<
    string,
    { suite: string; line: string; xParam: string; pts: { x: number; ms: number }[] }
  >();
  for (const m of measurements) {
    if (m.x === undefined || m.series === undefined) continue;
    const x = m.params[m.x];
    if (typeof x !== 'number') continue;
    const line = `${m.name} ${m.series}`;
    const key = `${m.suite}|${line}|${m.x}`;
    if (!lines.has(key)) lines.set(key, { suite: m.suite, line, xParam: m.x, pts: [] });
    lines.get(key)!.pts.push({ x, ms: m.medianMs });
  }
  const out: SeriesSlope[] = [];
  for (const l of lines.values()) {
    const slope = logLogSlope(l.pts);
    if (slope !== undefined) {
      out.push({ suite: l.suite, line: l.line, xParam: l.xParam, points: l.pts.length, slope });
    }
  }
  return out;
}
