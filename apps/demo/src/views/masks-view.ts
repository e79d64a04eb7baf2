import { timingDevice } from '../app/timing-device.js';
import { timeMaskedAttention } from '../model/cost.js';
import { PATTERN_NAMES, type PatternName, pairShare, patternMask } from '../model/masks.js';
import { h } from '../ui/dom.js';
import { heatmap } from '../ui/heatmap.js';
import { lineChart } from '../ui/line-chart.js';
import type { ViewContext } from './context.js';

const DRAWN_N = 24;
const TIMED_N = [32, 64, 128, 256];
const TIMED: readonly PatternName[] = ['dense', 'causal', 'sliding window', 'bigbird'];
const COLOURS = ['#444', '#1f77b4', '#2ca02c', '#d62728'];

/**
 * Masks and what they cost: each sparse pattern drawn as a matrix with the share of
 * query-key pairs it computes, then attention timed as N grows on the device the browser
 * offers.
 */
export function masksView(ctx: ViewContext): HTMLElement {
  const drawn = PATTERN_NAMES.map((name) => {
    const mask = patternMask(name, DRAWN_N, { seed: ctx.settings.seed });
    const share = pairShare(mask);
    return h(
      'figure',
      { class: 'mask', 'data-pattern': name, 'data-share': String(share) },
      heatmap(
        { rows: DRAWN_N, cols: DRAWN_N, data: Float32Array.from(mask.allowed) },
        { name: `mask-${name}`, cell: 7 },
      ),
      h('figcaption', {}, h('b', {}, name), ` — ${(share * 100).toFixed(1)}% of pairs`),
    );
  });
  const status = h('p', { class: 'note', 'data-testid': 'timing-status' }, 'Timing…');
  const chartSlot = h('div', { 'data-testid': 'timing-chart' });
  const table = h('table', { class: 'timings', 'data-testid': 'timing-table' });
  void measure(ctx, status, chartSlot, table);
  return h(
    'section',
    {},
    h('h2', {}, 'Masks and cost'),
    h(
      'p',
      { class: 'note' },
      `Each pattern at N = ${DRAWN_N}: a filled cell is a query-key pair that is computed. Dense attention costs N² pairs; the sparse patterns keep O(N) of them.`,
    ),
    h('div', { class: 'grid' }, ...drawn),
    h('h3', {}, 'Measured time as N grows'),
    status,
    chartSlot,
    table,
  );
}

async function measure(
  ctx: ViewContext,
  status: HTMLElement,
  chartSlot: HTMLElement,
  table: HTMLElement,
): Promise<void> {
  try {
    const { device, label } = await timingDevice(ctx.device);
    status.textContent = `Measuring on ${label}…`;
    const series = [];
    let path = '';
    table.append(
      h('tr', {}, h('th', {}, 'pattern'), ...TIMED_N.map((n) => h('th', {}, `N = ${n}`))),
    );
    for (const [p, name] of TIMED.entries()) {
      const points: [number, number][] = [];
      const row = h('tr', { 'data-pattern': name }, h('td', {}, name));
      table.append(row);
      for (const n of TIMED_N) {
        const t = await timeMaskedAttention(device, patternMask(name, n, { seed: 1 }));
        points.push([n, t.ms]);
        path = t.path;
        row.append(
          h('td', { class: 'num', 'data-n': n, 'data-ms': String(t.ms) }, t.ms.toFixed(2)),
        );
      }
      series.push({ label: name, colour: COLOURS[p]!, points });
    }
    chartSlot.replaceChildren(
      lineChart(series, { xLabel: 'N (tokens)', yLabel: 'ms per call', name: 'timing' }),
    );
    const how = path === 'fused' ? 'the fused attention op' : 'matmul, where, softmax and matmul';
    status.textContent = `Measured on ${label}: median of 3 runs of softmax(QKᵀ/√d + mask)·V with ${how}, one head of 32. Every pair is scored and then masked, so time grows as N²; the share of pairs is what a block-sparse kernel could skip.`;
    status.setAttribute('data-path', path);
    status.setAttribute('data-device', device.backend);
    status.setAttribute('data-done', '');
  } catch (error) {
    status.textContent = `Timing failed: ${(error as Error).message}`;
    status.setAttribute('data-done', '');
    status.classList.add('error');
  }
}
