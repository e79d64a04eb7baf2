import { timingDevice } from '../app/timing-device.js';
import { type Timing, timeBlockSparse, timeMaskedAttention } from '../model/cost.js';
import {
  PATTERN_NAMES,
  type PatternMask,
  type PatternName,
  pairShare,
  patternMask,
} from '../model/masks.js';
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
  const dense = timingSection('timing');
  const sparse = timingSection('sparse');
  void (async () => {
    const { device, label } = await timingDevice(ctx.device).catch((error: Error) => {
      dense.fail(error);
      throw error;
    });
    await dense.run(
      label,
      device.backend,
      (mask) => timeMaskedAttention(device, mask),
      (t) => {
        const how =
          t.path === 'fused' ? 'the fused attention op' : 'matmul, where, softmax and matmul';
        return `Measured on ${label}: median of 3 runs of softmax(QKᵀ/√d + mask)·V with ${how}, one head of 32, the mask given as a dense N×N bool tensor.`;
      },
    );
    await sparse.run(
      'cpu',
      'cpu',
      (mask) => timeBlockSparse(mask),
      () =>
        'Measured on the CPU backend: @qkv/sparse block-sparse attention (blocks of 16) visits only the key blocks the mask touches, so sparse patterns grow about as N. The last column is the share of q·k products computed at the largest N.',
    );
  })().catch(() => undefined);
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
    h('h3', {}, 'Measured time as N grows: dense attention with a mask'),
    dense.element,
    h('h3', {}, 'Measured time as N grows: block-sparse attention'),
    sparse.element,
  );
}

interface TimingSection {
  element: HTMLElement;
  run(
    label: string,
    backend: string,
    time: (mask: PatternMask) => Promise<Timing>,
    summary: (last: Timing) => string,
  ): Promise<void>;
  fail(error: Error): void;
}

/** A status line, a chart and a table of times per pattern and N, filled as they come in. */
function timingSection(id: string): TimingSection {
  const status = h('p', { class: 'note', 'data-testid': `${id}-status` }, 'Waiting…');
  const chartSlot = h('div', { 'data-testid': `${id}-chart` });
  const table = h('table', { class: 'timings', 'data-testid': `${id}-table` });
  const fail = (error: Error) => {
    status.textContent = `Timing failed: ${error.message}`;
    status.setAttribute('data-done', '');
    status.classList.add('error');
  };
  const run: TimingSection['run'] = async (label, backend, time, summary) => {
    try {
      status.textContent = `Measuring on ${label}…`;
      table.append(
        h(
          'tr',
          {},
          h('th', {}, 'pattern'),
          ...TIMED_N.map((n) => h('th', {}, `N = ${n}`)),
          h('th', {}, 'q·k computed'),
        ),
      );
      const series = [];
      let last: Timing | undefined;
      for (const [p, name] of TIMED.entries()) {
        const points: [number, number][] = [];
        const row = h('tr', { 'data-pattern': name }, h('td', {}, name));
        table.append(row);
        for (const n of TIMED_N) {
          // BigBird blocks as large as the kernel's, so its blocks are either full or empty.
          last = await time(patternMask(name, n, { seed: 1, blockSize: 16 }));
          points.push([n, last.ms]);
          row.append(
            h('td', { class: 'num', 'data-n': n, 'data-ms': String(last.ms) }, last.ms.toFixed(2)),
          );
        }
        const scored = last?.scored;
        row.append(
          scored === undefined
            ? h('td', { class: 'num' }, '—')
            : h(
                'td',
                { class: 'num', 'data-scored': String(scored) },
                `${(scored * 100).toFixed(1)}%`,
              ),
        );
        series.push({ label: name, colour: COLOURS[p]!, points });
      }
      chartSlot.replaceChildren(
        lineChart(series, { xLabel: 'N (tokens)', yLabel: 'ms per call', name: `${id}-chart` }),
      );
      status.textContent = summary(last!);
      status.setAttribute('data-path', last!.path);
      status.setAttribute('data-device', backend);
      status.setAttribute('data-done', '');
    } catch (error) {
      fail(error as Error);
    }
  };
  return { element: h('div', {}, status, chartSlot, table), run, fail };
}
