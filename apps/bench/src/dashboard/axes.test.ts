import type { Scale } from 'chart.js';
import { describe, expect, it } from 'vitest';
import { compact, qkvWords, ratioAxis, sizeAxis, valueAxis } from './axes.js';

/** The tick values an axis puts down (what Chart.js gets from `afterBuildTicks`). */
function ticksOf(axis: { afterBuildTicks: (a: Scale) => void }): number[] {
  const fake = { ticks: [] as { value: number }[] } as unknown as Scale;
  axis.afterBuildTicks(fake);
  return fake.ticks.map((t) => t.value);
}

/** The smallest gap between neighbouring ticks, as a share of the axis's log span. */
function closest(ticks: number[], lo: number, hi: number): number {
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < ticks.length; i++) gap = Math.min(gap, Math.log(ticks[i]! / ticks[i - 1]!));
  return gap / Math.log(hi / lo);
}

describe('dashboard axes', () => {
  it('puts size ticks at the measured sizes only, written short', () => {
    expect(ticksOf(sizeAxis('n', [512, 64, 128, 64]))).toEqual([64, 128, 512]);
    expect([512, 16384, 4194304].map(compact)).toEqual(['512', '16.4k', '4.19M']);
  });

  it('words ratio ticks around 1 and keeps them apart', () => {
    for (const ratios of [
      [1 / 1185, 1 / 25],
      [0.9, 1.3],
      [1 / 3, 7],
    ]) {
      const axis = ratioAxis('r', ratios, qkvWords);
      const ticks = ticksOf(axis);
      expect(ticks).toContain(1);
      expect(ticks[0]).toBeGreaterThanOrEqual(axis.min);
      expect(ticks[ticks.length - 1]).toBeLessThanOrEqual(axis.max);
      expect(closest(ticks, axis.min, axis.max)).toBeGreaterThanOrEqual(1 / 7 - 1e-9);
    }
    expect([1, 2, 0.5, 1 / 300].map(qkvWords)).toEqual([
      'as fast',
      '2.0x faster',
      '2.0x slower',
      '300x slower',
    ]);
  });

  it('spans measured values with 1-2-5 ticks that do not crowd', () => {
    const axis = valueAxis('ms', [0.02, 3, 900]);
    const ticks = ticksOf(axis);
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    for (const t of ticks)
      expect([1, 2, 5]).toContain(Number((t / 10 ** Math.floor(Math.log10(t))).toPrecision(2)));
    expect(closest(ticks, axis.min, axis.max)).toBeGreaterThanOrEqual(1 / 7 - 1e-9);
  });
});
