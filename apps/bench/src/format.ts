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

/** `512 B`, `4.00 KiB`, `1.25 MiB`, `2.00 GiB`: binary units, three significant digits. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toPrecision(3)} ${units[unit]}`;
}

/** A factor for people: `183x`, `2.1x`, `1.04x` (two significant digits, three near 1). */
export function formatFactor(factor: number): string {
  if (factor >= 100) return `${factor.toFixed(0)}x`;
  if (factor >= 10) return `${factor.toPrecision(2)}x`;
  return `${factor < 1.1 ? factor.toFixed(2) : factor.toPrecision(2)}x`;
}

/**
 * Another's time over the subject's, as the subject's speed in words: 183 → `183x faster`,
 * 0.5 → `2.0x slower`; within 2% either way, `as fast`.
 */
export function factorWords(otherOverSubject: number): string {
  if (Math.abs(Math.log(otherOverSubject)) < Math.log(1.02)) return 'as fast';
  return otherOverSubject > 1
    ? `${formatFactor(otherOverSubject)} faster`
    : `${formatFactor(1 / otherOverSubject)} slower`;
}

/** `qkv is 183x slower`: `factorWords` with its subject. */
export function speedWords(otherOverSubject: number, subject: string): string {
  return `${subject} is ${factorWords(otherOverSubject)}`;
}
