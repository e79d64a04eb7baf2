import type { Measurement, Params } from './suite.js';

/** `12.3 ms`, `456 µs`, `1.23 s`: three significant digits in a readable unit. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  return `${(ms * 1000).toPrecision(3)} µs`;
}

export function formatParams(params: Params): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** A key that is equal for measurements of the same case (suite and params, in any order). */
export function caseKey(suite: string, params: Params): string {
  const sorted = Object.keys(params)
    .sort()
    .map((k) => [k, params[k]]);
  return `${suite}|${JSON.stringify(sorted)}`;
}

/** Three significant digits without exponents: `0.000449`, `12.3`, `4290`. */
export function formatNumber(value: number): string {
  return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(3);
}

/** TFLOP/s or MB/s, whichever the measurement has; empty when it has neither. */
export function formatRate(m: Measurement): string {
  if (m.tflops !== undefined) return `${formatNumber(m.tflops)} TFLOP/s`;
  if (m.mbPerSec !== undefined) return `${formatNumber(m.mbPerSec)} MB/s`;
  return '';
}
