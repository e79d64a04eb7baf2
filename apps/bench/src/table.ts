import { compareRuns, groupByCase, timeOverQkv } from './compare.js';
import {
  factorWords,
  formatBytes,
  formatMs,
  formatParams,
  formatRate,
  speedWords,
} from './format.js';
import { seriesSlopes } from './slope.js';
import type { Measurement } from './suite.js';

/** Fixed-width text table: header row, then rows, columns padded to their widest cell. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * The table printed after a run: one row per measurement, cases grouped, and on each peer's
 * or variant's row where qkv stands against it on that case ("qkv is 2.1x faster"). The
 * `peak mem` column appears only where the device reports memory (WebGPU).
 */
export function summaryTable(measurements: readonly Measurement[]): string {
  const withMemory = measurements.some((m) => m.peakBytes !== undefined);
  const rows: string[][] = [];
  for (const group of groupByCase(measurements)) {
    for (const m of group) {
      const ratio = timeOverQkv(m, group);
      rows.push([
        `${m.suite} ${formatParams(m.params)}`,
        m.name,
        formatMs(m.medianMs),
        `± ${formatMs(m.madMs)}`,
        formatMs(m.minMs),
        formatRate(m),
        ...(withMemory ? [m.peakBytes === undefined ? '' : formatBytes(m.peakBytes)] : []),
        ratio === undefined ? '' : speedWords(ratio, 'qkv'),
      ]);
    }
  }
  const table = textTable(
    [
      'case',
      'name',
      'median',
      'MAD',
      'min',
      'rate',
      ...(withMemory ? ['peak mem'] : []),
      'qkv against it',
    ],
    rows,
  );
  const slopes = slopeTable(measurements);
  return slopes ? `${table}\n\n${slopes}` : table;
}

/**
 * Each line's least-squares slope of log(time) against log(x): about 2 where the cost is
 * quadratic in x, 1 where linear. Empty when no line has two sizes.
 */
export function slopeTable(measurements: readonly Measurement[]): string {
  const slopes = seriesSlopes(measurements);
  if (slopes.length === 0) return '';
  return textTable(
    ['suite', 'line', 'x', 'points', 'log-log slope'],
    slopes.map((s) => [s.suite, s.line, s.xParam, String(s.points), s.slope.toFixed(2)]),
  );
}

/** Median time of each case in `after` as a multiple of the same case in `before`. */
export function runComparisonTable(
  before: readonly Measurement[],
  after: readonly Measurement[],
): string {
  const rows = compareRuns(before, after).map((d) => [
    `${d.suite} ${formatParams(d.params)}`,
    d.name,
    formatMs(d.before.medianMs),
    formatMs(d.after.medianMs),
    // Before over after: above 1, the later run is faster.
    factorWords(1 / d.ratio),
  ]);
  return textTable(['case', 'name', 'before', 'after', 'after is'], rows);
}
