import { timingDevice } from '../app/timing-device.js';
import { type Timing, timeBlockSparse } from '../model/cost.js';
import {
  PATTERN_NAMES,
  type PatternMask,
  type PatternName,
  pairShare,
  patternMask,
} from '../model/masks.js';
import { h } from '../ui/dom.js';
import { heatmap } from '../ui/heatmap.js';
import { lineChart, type Series } from '../ui/line-chart.js';
import type { ViewContext } from './context.js';

const DRAWN_N = [16, 24, 32, 48, 64];
const MAX_TIMED_N = [128, 256, 512];
const WINDOWS = [2, 4, 8, 16];
const TIMED: readonly PatternName[] = ['dense', 'causal', 'sliding window', 'bigbird'];
const COLOURS = ['#444', '#1f77b4', '#2ca02c', '#d62728'];
/** Timed samples per point: the median of this many keeps the patterns' order from run to run. */
const REPEATS = 7;

/** N = 32, 64, … up to `max`. */
export function timedSizes(max: number): number[] {
  const sizes = [];
  for (let n = 32; n <= max; n *= 2) sizes.push(n);
  return sizes;
}

/**
 * Dashed ∝ N and ∝ N² lines through the last (largest, least noisy) point of `anchor`, for a
 * log-log chart.
 */
function guides(anchor: Series): Series[] {
  const [n0, t0] = anchor.points.at(-1) ?? [1, 1];
  const line = (label: string, power: number): Series => ({
    label,
    colour: '#999',
    guide: true,
    points: anchor.points.map(([n]) => [n, t0 * (n / n0) ** power] as const),
  });
  return [line('∝ N', 1), line('∝ N²', 2)];
}

/**
 * Masks and what they cost: each sparse pattern drawn as a matrix with the share of
 * query-key pairs it computes, then attention timed as N grows on the device the browser
 * offers.
 */
export function masksView(ctx: ViewContext): HTMLElement {
  const { maskN, window, maxTimedN } = ctx.settings;
  const options = { seed: ctx.settings.seed, window };
  const drawn = PATTERN_NAMES.map((name) => {
    const mask = patternMask(name, maskN, options);
    const share = pairShare(mask);
    return h(
      'figure',
      { class: 'mask', 'data-pattern': name, 'data-share': String(share) },
      heatmap(
        { rows: maskN, cols: maskN, data: Float32Array.from(mask.allowed) },
        {
          name: `mask-${name}`,
          cell: Math.max(3, Math.floor(168 / maskN)),
          xTitle: 'key',
          yTitle: 'query',
          legend: false,
        },
      ),
      h('figcaption', {}, h('b', {}, name), ` — ${(share * 100).toFixed(1)}% of pairs`),
    );
  });
  const sizes = timedSizes(maxTimedN);
  const dense = timingSection('timing', sizes);
  const sparse = timingSection('sparse', sizes);
  void (async () => {
    const { device, label, time } = await timingDevice(ctx.device).catch((error: Error) => {
      dense.fail(error);
      throw error;
    });
    const software = device.backend === 'webgpu' && ctx.device.software;
    await dense.run(
      label,
      device.backend,
      (mask) => time(mask, 32, REPEATS),
      (t) => {
        const how =
          t.path === 'fused'
            ? 'the fused attention op, which skips the dot product of a masked pair but still visits all N² pairs to read the mask'
            : 'matmul, where, softmax and matmul, which compute every q·k product and then set the masked ones to −∞';
        const where = software
          ? ' This adapter is a software one: SwiftShader runs the shaders on the CPU, so these are not GPU speeds.'
          : '';
        return `Measured on ${label}: median of ${REPEATS} runs of softmax(QKᵀ/√d + mask)·V with ${how}, one head of 32, the mask given as a dense N×N bool tensor.${where}`;
      },
      options,
    );
    await sparse.run(
      'cpu',
      'cpu',
      (mask) => timeBlockSparse(mask, 32, REPEATS),
      () =>
        `Measured on the CPU backend, median of ${REPEATS} runs: @qkv/sparse block-sparse attention (blocks of 16) visits only the key blocks the mask touches, so sparse patterns grow about as N. The last column is the share of q·k products computed at the largest N.`,
      options,
    );
  })().catch(() => undefined);
  const select = (
    id: string,
    label: string,
    values: number[],
    key: 'maskN' | 'maxTimedN' | 'window',
  ) =>
    h(
      'label',
      {},
      `${label} `,
      h(
        'select',
        {
          id,
          onchange: (e: Event) =>
            ctx.update({ [key]: Number((e.target as HTMLSelectElement).value) }),
        },
        ...values.map((v) => h('option', { value: v, selected: v === ctx.settings[key] }, v)),
      ),
    );
  return h(
    'section',
    {},
    h('h2', {}, 'Masks and cost'),
    h(
      'div',
      { class: 'row' },
      select('mask-n', 'N drawn', DRAWN_N, 'maskN'),
      select('mask-window', 'window', WINDOWS, 'window'),
      select('max-timed-n', 'largest timed N', MAX_TIMED_N, 'maxTimedN'),
    ),
    h(
      'p',
      { class: 'note' },
      `Each pattern at N = ${maskN}, window ${window}: a filled cell is a query-key pair that is computed. Dense attention costs N² pairs; the sparse patterns keep O(N) of them.`,
    ),
    h('div', { class: 'grid' }, ...drawn),
    h('h3', {}, 'Measured time as N grows: dense attention with a mask'),
    h(
      'p',
      { class: 'note', 'data-testid': 'dense-explainer' },
      "A mask given to dense attention saves (almost) nothing: every query still visits all N keys, and the masked scores are set to −∞ before the softmax, so every pattern still grows as N². Both axes are logarithmic: a power law is a straight line whose slope is the power; the dashed lines show slopes 1 (∝ N) and 2 (∝ N²) through the dense pattern's largest N.",
    ),
    dense.element,
    h('h3', {}, 'Measured time as N grows: block-sparse attention'),
    h(
      'p',
      { class: 'note' },
      'Block-sparse attention skips the blocks of the mask that hold no allowed pair: it never computes them, so a sliding window grows about as N while the dense pattern still grows as N².',
    ),
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
    options: { seed: number; window: number },
  ): Promise<void>;
  fail(error: Error): void;
}

/** A status line, a chart and a table of times per pattern and N, filled as they come in. */
function timingSection(id: string, sizes: number[]): TimingSection {
  const status = h('p', { class: 'note', 'data-testid': `${id}-status` }, 'Waiting…');
  const chartSlot = h('div', { 'data-testid': `${id}-chart` });
  const table = h('table', { class: 'timings', 'data-testid': `${id}-table` });
  const fail = (error: Error) => {
    status.textContent = `Timing failed: ${error.message}`;
    status.setAttribute('data-done', '');
    status.classList.add('error');
  };
  const run: TimingSection['run'] = async (label, backend, time, summary, options) => {
    try {
      status.textContent = `Measuring on ${label}…`;
      // One untimed call first: the first use of a device compiles its pipelines.
      await time(patternMask(TIMED[0]!, sizes[0]!, { ...options, seed: 1, blockSize: 16 }));
      table.append(
        h(
          'tr',
          {},
          h('th', {}, 'pattern'),
          ...sizes.map((n) => h('th', {}, `N = ${n}`)),
          h('th', {}, 'q·k computed'),
        ),
      );
      const series: Series[] = [];
      let last: Timing | undefined;
      for (const [p, name] of TIMED.entries()) {
        const points: [number, number][] = [];
        const row = h('tr', { 'data-pattern': name }, h('td', {}, name));
        table.append(row);
        for (const n of sizes) {
          // BigBird blocks as large as the kernel's, so its blocks are either full or empty.
          last = await time(patternMask(name, n, { ...options, seed: 1, blockSize: 16 }));
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
        lineChart([...series, ...guides(series[0]!)], {
          xLabel: 'N (tokens)',
          yLabel: 'ms per call',
          name: `${id}-chart`,
          logLog: true,
        }),
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
