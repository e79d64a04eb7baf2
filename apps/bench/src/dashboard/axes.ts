import type { Scale } from 'chart.js';
import { factorWords } from '../format.js';

/**
 * Log axes whose ticks never crowd: at the measured sizes, at 1-2-5 steps thinned to fit, and
 * for ratios at worded steps either side of 1.
 */

/** `512`, `16.4k`, `4.19M`: x ticks that stay short. */
export function compact(v: number): string {
  if (v >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (v >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(v);
}

/** A log x axis with ticks at the measured sizes only: no crowded or invented labels. */
export function sizeAxis(title: string, xs: readonly number[]) {
  const values = [...new Set(xs)].sort((a, b) => a - b);
  return {
    type: 'logarithmic' as const,
    title: { display: true, text: title },
    min: values[0]! / 1.15,
    max: values[values.length - 1]! * 1.15,
    afterBuildTicks: (axis: Scale) => {
      axis.ticks = values.map((value) => ({ value }));
    },
    ticks: { callback: (v: number | string) => compact(Number(v)), maxRotation: 0 },
  };
}

/**
 * Log-axis ticks in [lo, hi]: `mantissas` × 10^k (k ≥ 0) and, with `reciprocal`, their
 * reciprocals, thinned so neighbours are at least a seventh of the axis apart (labels never
 * touch), keeping `anchor` (1 on ratio axes) and walking outward from it.
 */
function logTicks(
  lo: number,
  hi: number,
  mantissas: number[],
  reciprocal: boolean,
  anchor: number,
  slots = 7,
) {
  const candidates = new Set<number>([anchor]);
  const top = Math.ceil(Math.log10(Math.max(hi, 1 / lo))) + 1;
  for (let e = reciprocal ? 0 : -top; e <= top; e++) {
    for (const m of mantissas) {
      const v = Number((m * 10 ** e).toPrecision(3));
      candidates.add(v);
      if (reciprocal && v > 1) candidates.add(1 / v);
    }
  }
  const inRange = [...candidates].filter((v) => v >= lo && v <= hi).sort((a, b) => a - b);
  const gap = Math.log(hi / lo) / slots;
  const keep = (sorted: number[]) => {
    const out: number[] = [];
    for (const v of sorted) {
      const last = out[out.length - 1];
      if (last === undefined || Math.abs(Math.log(v / last)) >= gap) out.push(v);
    }
    return out;
  };
  const up = keep(inRange.filter((v) => v >= anchor));
  const down = keep(inRange.filter((v) => v <= anchor).reverse());
  return [...new Set([...down, ...up])].sort((a, b) => a - b);
}

/** A log axis with the given ticks and labels, spanning [lo, hi]. */
function logAxis(
  title: string,
  lo: number,
  hi: number,
  ticks: number[],
  label: (v: number) => string,
) {
  return {
    type: 'logarithmic' as const,
    title: { display: true, text: title },
    min: lo,
    max: hi,
    afterBuildTicks: (axis: Scale) => {
      axis.ticks = ticks.map((value) => ({ value }));
    },
    ticks: { callback: (v: number | string) => label(Number(v)), autoSkip: false },
  };
}

/** A log axis for measured values (time, rate, memory): 1-2-5 ticks, decades when crowded. */
export function valueAxis(title: string, values: readonly number[]) {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.min(...finite) / 1.4;
  const hi = Math.max(...finite) * 1.4;
  // Anchored at the power of ten nearest the middle of the range.
  const anchor = 10 ** Math.round(Math.log10(Math.sqrt(lo * hi)));
  const ticks = logTicks(lo, hi, [1, 2, 5], false, anchor);
  return logAxis(title, lo, hi, ticks, (v) => compact(Number(v.toPrecision(2))));
}

/**
 * A log axis for ratios, ticks at 1 and steps either side, each worded: `words(v)` for the
 * value v.
 */
export function ratioAxis(
  title: string,
  ratios: readonly number[],
  words: (v: number) => string,
  horizontal = false,
) {
  const lo = Math.min(1, ...ratios) / 1.15;
  const hi = Math.max(1, ...ratios) * 1.15;
  // Worded ticks are wide: fewer fit along a horizontal axis.
  const ticks = logTicks(lo, hi, [1, 1.1, 1.2, 1.5, 2, 3, 5], true, 1, horizontal ? 6 : 7);
  return logAxis(title, lo, hi, ticks, words);
}

/** Peer or variant time over qkv's, in words about qkv. */
export const qkvWords = (v: number) => (Math.abs(v - 1) < 1e-9 ? 'as fast' : factorWords(v));
/** Later run's time over the first's, in words about the later run. */
export const laterWords = (v: number) => (Math.abs(v - 1) < 1e-9 ? 'as fast' : factorWords(1 / v));
