import { compareRuns, groupByCase, QKV, timeOverQkv } from './compare.js';
import { formatMs, formatNumber, formatParams, formatRate } from './format.js';
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
 * The summary printed after a run: one row per measurement, cases grouped, with each peer's
 * time as a multiple of qkv's on the same case (`time/qkv` > 1: qkv is faster).
 */
export function summaryTable(measurements: readonly Measurement[]): string {
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
        ratio === undefined || m.name === QKV ? '' : `${formatNumber(ratio)}x`,
      ]);
    }
  }
  return textTable(['case', 'name', 'median', 'MAD', 'min', 'rate', 'time/qkv'], rows);
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
    `${formatNumber(d.ratio)}x`,
  ]);
  return textTable(['case', 'name', 'before', 'after', 'after/before'], rows);
}
