import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartDataset,
  type ChartType,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  type Plugin,
  PointElement,
  SubTitle,
  Title,
  Tooltip,
} from 'chart.js';
import { formatFlops } from '../summary.js';
import { laterWords, qkvWords, ratioAxis, sizeAxis, valueAxis } from './axes.js';
import type { Ratio, Series, SuiteView } from './model.js';

declare module 'chart.js' {
  interface PluginOptionsByType<TType extends ChartType> {
    /** A dashed line at `value` on `axis`: ratio = 1 on ratio charts (its tick names it). */
    referenceLine?: { axis: 'x' | 'y'; value: number };
  }
}

/** Draws `options.plugins.referenceLine` over the datasets. */
const referenceLine: Plugin = {
  id: 'referenceLine',
  afterDatasetsDraw(chart) {
    const opts = chart.options.plugins?.referenceLine;
    if (!opts?.axis || opts.value === undefined) return;
    const scale = chart.scales[opts.axis];
    if (!scale) return;
    const at = scale.getPixelForValue(opts.value);
    const { left, right, top, bottom } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = '#333';
    ctx.fillStyle = '#333';
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    if (opts.axis === 'y') {
      ctx.moveTo(left, at);
      ctx.lineTo(right, at);
    } else {
      ctx.moveTo(at, top);
      ctx.lineTo(at, bottom);
    }
    ctx.stroke();
    ctx.restore();
  },
};

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  SubTitle,
  Title,
  Tooltip,
  referenceLine,
);

// Okabe–Ito (without its yellow, too faint on white) and two of Tol's: distinguishable with
// the common colour-vision deficiencies.
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#882255',
  '#999933',
];
export const MARKERS = [
  'circle',
  'triangle',
  'rect',
  'rectRot',
  'star',
  'crossRot',
  'cross',
  'rectRounded',
] as const;

/**
 * The look of line `index` of a chart in run `run` of `runs`: colour by line, marker by run
 * (and by palette round), later runs dashed, so no two datasets of a chart share colour and
 * marker while a chart holds at most PALETTE × MARKERS of them.
 */
function lineStyle(index: number, run: number, runs: number) {
  const colour = PALETTE[index % PALETTE.length]!;
  const marker = MARKERS[(run + runs * Math.floor(index / PALETTE.length)) % MARKERS.length]!;
  return {
    borderColor: colour,
    backgroundColor: colour,
    borderDash: run > 0 ? [6, 4] : [],
    pointStyle: marker,
    pointRadius: 4,
    pointHoverRadius: 6,
  };
}

/**
 * Styles for `series` of one chart, a line's index in `lines` giving its colour: the charts of
 * one group share their list, so a line keeps its colour from chart to chart.
 */
function styled<T>(
  series: readonly Series[],
  dataset: (s: Series) => T,
  lines: readonly string[] = [...new Set(series.map((s) => s.line))],
  runs = Math.max(...series.map((s) => s.run)) + 1,
) {
  return series.map((s) => ({ ...dataset(s), ...lineStyle(lines.indexOf(s.line), s.run, runs) }));
}

function canvasIn(
  parent: HTMLElement,
  title: string,
  height?: number,
  wide = false,
): HTMLCanvasElement {
  const figure = document.createElement('figure');
  figure.className = wide ? 'chart wide' : 'chart';
  if (height) figure.style.height = `${height}px`;
  const canvas = document.createElement('canvas');
  canvas.setAttribute('aria-label', title);
  figure.append(canvas);
  parent.append(figure);
  return canvas;
}

/** Options every chart shares: its title, and a subtitle saying how to read it. */
const common = (title: string, subtitle?: string) => ({
  animation: false as const,
  responsive: true,
  maintainAspectRatio: false,
  plugins: {
    title: { display: true, text: title },
    subtitle: { display: subtitle !== undefined, text: subtitle ?? '' },
    legend: { position: 'bottom' as const, labels: { usePointStyle: true } },
  },
});

/** Draws a chart; `height` for bars, which need room per case and span the page's width. */
type Draw = (title: string, config: ChartConfiguration, height?: number) => void;

/** The charts of one suite; returns how many were drawn. */
export function drawSuite(parent: HTMLElement, view: SuiteView): number {
  let drawn = 0;
  const draw: Draw = (title, config, height) => {
    // Room for the legend: a dozen lines need more than the default height.
    const legendRows = Math.ceil(config.data.datasets.length / 2);
    const canvas = canvasIn(
      parent,
      title,
      height ?? Math.max(352, 250 + 22 * legendRows),
      height !== undefined,
    );
    // What each chart holds, readable without decoding pixels (the browser test reads it).
    canvas.dataset.datasets = JSON.stringify(
      config.data.datasets.map((d) => {
        const style = d as { borderColor?: string; backgroundColor?: string; pointStyle?: string };
        return {
          label: d.label,
          // Lines are told apart by their stroke, bars by their fill.
          colour: style.pointStyle ? style.borderColor : style.backgroundColor,
          marker: style.pointStyle ?? 'bar',
        };
      }),
    );
    const reference = config.options?.plugins?.referenceLine;
    if (reference) canvas.dataset.reference = String(reference.value);
    new Chart(canvas, config);
    drawn++;
  };
  if (view.xParam === undefined) drawCases(draw, view);
  else for (const group of view.groups) drawGroup(draw, view, view.xParam, group);
  return drawn;
}

function drawGroup(draw: Draw, view: SuiteView, xParam: string, group: string): void {
  const prefix = group ? `${view.suite} ${group}` : view.suite;
  const inGroup = view.series.filter((s) => s.group === group);
  const main = inGroup.filter((s) => s.role !== 'part');
  const parts = inGroup.filter((s) => s.role === 'part');
  const xs = inGroup.flatMap((s) => s.points.map((p) => p.x));
  const lines = [...new Set(main.map((s) => s.line))];
  const runs = Math.max(...view.series.map((s) => s.run)) + 1;
  // One point per line says nothing about growth: such suites are left to the summary.
  if (!inGroup.some((s) => s.points.length > 1)) return;

  const timeChart = (
    title: string,
    series: Series[],
    note = '',
    order = [...new Set(series.map((s) => s.line))],
  ) =>
    draw(title, {
      type: 'line',
      data: {
        datasets: styled(
          series,
          (s) => ({
            label: s.slope === undefined ? s.label : `${s.label} · slope ${s.slope.toFixed(2)}`,
            data: s.points.map((p) => ({ x: p.x, y: p.medianMs })),
          }),
          order,
          runs,
        ),
      },
      options: {
        ...common(title, `${note}log-log: slope 1 is linear growth, 2 quadratic`),
        scales: {
          x: sizeAxis(xParam, xs),
          y: valueAxis(
            'median ms per call',
            series.flatMap((s) => s.points.map((p) => p.medianMs)),
          ),
        },
      },
    });
  if (main.length > 0) timeChart(`${prefix}: median time vs ${xParam}`, main, '', lines);
  if (parts.length > 0) {
    const names = [...new Set(parts.map((s) => s.name))].join(', ');
    timeChart(
      `${prefix}: ${names} time vs ${xParam}`,
      parts,
      "a step of qkv's op, timed alone (not a peer); ",
    );
  }

  const rateKey = main.some((s) => s.points.some((p) => p.tflops !== undefined))
    ? 'tflops'
    : main.some((s) => s.points.some((p) => p.mbPerSec !== undefined))
      ? 'mbPerSec'
      : undefined;
  if (rateKey) {
    const rated = main.filter((s) => s.points.some((p) => p[rateKey] !== undefined));
    const rates = rated.flatMap((s) => s.points.map((p) => p[rateKey] ?? Number.NaN));
    // A CPU run's rates read better in GFLOP/s than as 0.000x TFLOP/s.
    const giga = rateKey === 'tflops' && Math.max(...rates, ...view.peaks.map((p) => p.tflops)) < 1;
    const scale = giga ? 1000 : 1;
    const unit = rateKey === 'tflops' ? (giga ? 'GFLOP/s' : 'TFLOP/s') : 'MB/s';
    draw(`${prefix}: ${unit} vs ${xParam}`, {
      type: 'line',
      data: {
        datasets: [
          ...styled(
            rated,
            (s) => ({
              label: s.label,
              data: s.points.map((p) => ({ x: p.x, y: (p[rateKey] ?? Number.NaN) * scale })),
            }),
            lines,
            runs,
          ),
          ...(rateKey === 'tflops' ? peakLines(view, xs, scale) : []),
        ],
      },
      options: {
        ...common(
          `${prefix}: ${unit} vs ${xParam}`,
          rateKey === 'tflops' ? 'log-log; grey: the ceiling of the run' : 'log-log',
        ),
        scales: {
          x: sizeAxis(xParam, xs),
          // Logarithmic: a reference CPU backend and a tuned peer differ by orders of magnitude.
          y: valueAxis(unit, [
            ...rates.map((r) => r * scale),
            ...(rateKey === 'tflops' ? view.peaks.map((p) => p.tflops * scale) : []),
          ]),
        },
      },
    });
  }

  const withMemory = main.filter((s) => s.points.some((p) => p.peakBytes !== undefined));
  if (withMemory.length > 0) {
    draw(`${prefix}: peak memory`, {
      type: 'line',
      data: {
        datasets: styled(
          withMemory,
          (s) => ({
            label: s.label,
            data: s.points.map((p) => ({ x: p.x, y: (p.peakBytes ?? Number.NaN) / 2 ** 20 })),
          }),
          lines,
          runs,
        ),
      },
      options: {
        ...common(`${prefix}: peak device memory vs ${xParam}`, 'log-log; inputs included'),
        scales: {
          x: sizeAxis(xParam, xs),
          y: valueAxis(
            'MiB (inputs included)',
            withMemory.flatMap((s) => s.points.map((p) => (p.peakBytes ?? Number.NaN) / 2 ** 20)),
          ),
        },
      },
    });
  }

  const ratioChart = (
    title: string,
    ratios: Ratio[],
    axisTitle: string,
    words: (v: number) => string,
    keyOf: (r: Ratio) => string,
  ) => {
    if (ratios.length === 0) return;
    const keys = [...new Set(ratios.map(keyOf))];
    // Each line in the colour it has on the group's time chart.
    const order = [
      ...lines,
      ...new Set(ratios.map((r) => r.line).filter((l) => !lines.includes(l))),
    ];
    const datasets = keys.map((key) => {
      const rs = ratios.filter((r) => keyOf(r) === key).sort((a, b) => a.x! - b.x!);
      const { run, line } = rs[0]!;
      return {
        label: key,
        data: rs.map((r) => ({ x: r.x!, y: r.ratio })),
        ...lineStyle(order.indexOf(line), run, runs),
      };
    });
    draw(title, {
      type: 'line',
      data: { datasets },
      options: {
        ...common(title),
        plugins: {
          ...common(title).plugins,
          referenceLine: { axis: 'y', value: 1 },
        },
        scales: {
          x: sizeAxis(xParam, xs),
          y: ratioAxis(
            axisTitle,
            ratios.map((r) => r.ratio),
            words,
          ),
        },
      },
    });
  };
  const runName = (run: number) => (view.peaks.length > 1 || run > 0 ? ` (run ${run + 1})` : '');
  // A peer whose outputs disagreed with qkv's is marked wherever its ratio is drawn.
  const verdict = (r: Ratio) => (r.disagrees ? ' (outputs disagree: reference only)' : '');
  const inThis = (rs: Ratio[]) => rs.filter((r) => r.group === group);
  ratioChart(
    `${prefix}: qkv against peers`,
    inThis(view.peerRatios),
    'qkv is … than the peer',
    qkvWords,
    (r) => `${r.line}${runName(r.run)}${verdict(r)}`,
  );
  ratioChart(
    `${prefix}: qkv against its own variants`,
    inThis(view.variantRatios),
    'qkv (default path) is … than the variant',
    qkvWords,
    (r) => `${r.line}${runName(r.run)}`,
  );
  ratioChart(
    `${prefix}: later runs against run 1`,
    inThis(view.runRatios),
    'the later run is …',
    laterWords,
    (r) => `${r.line} (run ${r.run + 1})`,
  );
}

/**
 * Flat grey lines at each run's peak TFLOP/s across the x range of the chart: the `peak`
 * suite's measurement, or the run's best where it has none.
 */
function peakLines(view: SuiteView, xs: number[], scale: number) {
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
  const greys = ['#555555', '#aaaaaa', '#cccccc'];
  return view.peaks.map((peak, i) => ({
    label: peak.measured
      ? `${peak.what}, run ${peak.run + 1}: ${formatFlops(peak.tflops)}`
      : `best of run ${peak.run + 1} (it has no peak suite): ${formatFlops(peak.tflops)}`,
    data: [
      { x: lo, y: peak.tflops * scale },
      { x: hi, y: peak.tflops * scale },
    ],
    borderColor: greys[i % greys.length]!,
    backgroundColor: greys[i % greys.length]!,
    borderDash: peak.run > 0 ? [2, 3] : [10, 4],
    borderWidth: 1.5,
    pointRadius: 0,
    pointStyle: 'line' as const,
  }));
}

/**
 * Bars: colour by name, later runs a lighter fill of it (a colour of their own) under the same
 * outline.
 */
function barStyle(index: number, run: number) {
  const colour = PALETTE[index % PALETTE.length]!;
  const fills = ['', '88', '44'];
  return {
    backgroundColor: `${colour}${fills[run % fills.length]}`,
    borderColor: colour,
    borderWidth: 1,
  };
}

/** A case label as lines of at most three params, so long labels stack instead of clipping. */
function caseLines(label: string): string[] {
  const words = label.split(' ');
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 3) lines.push(words.slice(i, i + 3).join(' '));
  return lines;
}

/**
 * Suites whose cases are unrelated sizes (no x axis): horizontal bars per case, labels on the
 * vertical axis where they cannot overlap. Nothing for a single case (the summary has it).
 */
function drawCases(draw: Draw, view: SuiteView): void {
  if (view.cases.length < 2) return;
  const main = view.series.filter((s) => s.role !== 'part');
  const names = [...new Set(main.map((s) => s.name))];
  // Each case needs room for its bars and for its label's lines, whichever is taller.
  const labelLines = Math.max(...view.cases.map((c) => caseLines(c).length));
  const height = (barsPerCase: number) =>
    Math.max(300, 120 + view.cases.length * (8 + Math.max(13 * labelLines, 12 * barsPerCase)));
  const rateKey = main.some((s) => s.points.some((p) => p.mbPerSec !== undefined))
    ? 'mbPerSec'
    : main.some((s) => s.points.some((p) => p.tflops !== undefined))
      ? 'tflops'
      : undefined;
  const unit = rateKey === 'mbPerSec' ? 'MB/s' : rateKey === 'tflops' ? 'TFLOP/s' : 'median ms';
  const value = (s: Series, i: number) => {
    const p = s.points.find((q) => q.x === i);
    return p === undefined ? Number.NaN : rateKey ? (p[rateKey] ?? Number.NaN) : p.medianMs;
  };
  draw(
    `${view.suite}: ${unit} per case`,
    {
      type: 'bar',
      data: {
        labels: view.cases.map(caseLines),
        datasets: main.map((s) => ({
          label: s.label,
          data: view.cases.map((_, c) => value(s, c)),
          ...barStyle(names.indexOf(s.name), s.run),
        })),
      },
      options: {
        ...common(`${view.suite}: ${unit} per case (${rateKey ? 'higher' : 'lower'} is better)`),
        indexAxis: 'y',
        scales: {
          y: { type: 'category', ticks: { autoSkip: false } },
          x: valueAxis(
            unit,
            main.flatMap((s) => view.cases.map((_, c) => value(s, c))),
          ),
        },
      },
    },
    height(main.length),
  );
  const bars = (
    title: string,
    ratios: Ratio[],
    axisTitle: string,
    words: (v: number) => string,
  ) => {
    if (ratios.length === 0) return;
    const keys = [...new Set(ratios.map((r) => `${r.name}|${r.run}`))];
    const datasets: ChartDataset<'bar'>[] = keys.map((key) => {
      const [name, run] = key.split('|') as [string, string];
      const byCase = new Map(
        ratios.filter((r) => `${r.name}|${r.run}` === key).map((r) => [r.caseLabel, r.ratio]),
      );
      return {
        label: Number(run) > 0 || view.peaks.length > 1 ? `${name} (run ${Number(run) + 1})` : name,
        // Floating bars from 1: faster to one side of the line, slower to the other.
        data: view.cases.map((c) => {
          const ratio = byCase.get(c);
          return ratio === undefined ? null : ([1, ratio] as [number, number]);
        }),
        ...barStyle(names.indexOf(name), Number(run)),
      };
    });
    draw(
      title,
      {
        type: 'bar',
        data: { labels: view.cases.map(caseLines), datasets },
        options: {
          ...common(title),
          indexAxis: 'y',
          plugins: {
            ...common(title).plugins,
            referenceLine: { axis: 'x', value: 1 },
          },
          scales: {
            y: { type: 'category', ticks: { autoSkip: false } },
            x: ratioAxis(
              axisTitle,
              ratios.map((r) => r.ratio),
              words,
              true,
            ),
          },
        },
      },
      height(datasets.length),
    );
  };
  bars(`${view.suite}: qkv against peers`, view.peerRatios, 'qkv is … than the peer', qkvWords);
  bars(
    `${view.suite}: qkv against its own variants`,
    view.variantRatios,
    'qkv (default path) is … than the variant',
    qkvWords,
  );
  bars(`${view.suite}: later runs against run 1`, view.runRatios, 'the later run is …', laterWords);
}
