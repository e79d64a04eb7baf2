import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Title,
  Tooltip,
} from 'chart.js';
import type { Series, SuiteView } from './model.js';

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
  Title,
  Tooltip,
);

// Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

function colourFor(name: string, names: string[]): string {
  return PALETTE[names.indexOf(name) % PALETTE.length]!;
}

/** Same colour for a name and marker for a line in every chart; later runs dashed. */
function lineStyle(s: Series, names: string[], lines: string[]) {
  const seriesIndex = lines.indexOf(s.line);
  const colour = colourFor(s.name, names);
  const shapes = ['circle', 'triangle', 'rect', 'rectRot', 'star', 'crossRot'] as const;
  return {
    borderColor: colour,
    backgroundColor: colour,
    borderDash: s.run > 0 ? [6, 4] : [],
    pointStyle: shapes[seriesIndex % shapes.length],
    pointRadius: 4,
  };
}

function canvasIn(parent: HTMLElement, title: string): HTMLCanvasElement {
  const figure = document.createElement('figure');
  figure.className = 'chart';
  const canvas = document.createElement('canvas');
  canvas.setAttribute('aria-label', title);
  figure.append(canvas);
  parent.append(figure);
  return canvas;
}

const common = (title: string) => ({
  animation: false as const,
  responsive: true,
  maintainAspectRatio: false,
  plugins: {
    title: { display: true, text: title },
    legend: { position: 'bottom' as const, labels: { usePointStyle: true } },
  },
});

/** The charts of one suite; returns how many were drawn. */
export function drawSuite(parent: HTMLElement, view: SuiteView): number {
  const names = [...new Set(view.series.map((s) => s.name))];
  const lines = [...new Set(view.series.map((s) => s.line))];
  let drawn = 0;
  const draw = (title: string, config: ChartConfiguration) => {
    const canvas = canvasIn(parent, title);
    // What each chart holds, readable without decoding pixels (the browser test reads it).
    canvas.dataset.datasets = JSON.stringify(config.data.datasets.map((d) => d.label));
    new Chart(canvas, config);
    drawn++;
  };

  // Log-log: a quadratic cost is a line of slope 2, a linear one of slope 1.
  draw(`${view.suite}: median time vs ${view.xParam}`, {
    type: 'line',
    data: {
      datasets: view.series.map((s) => ({
        label: s.label,
        data: s.points.map((p) => ({ x: p.x, y: p.medianMs })),
        ...lineStyle(s, names, lines),
      })),
    },
    options: {
      ...common(`${view.suite}: median time vs ${view.xParam} (log-log)`),
      scales: {
        x: { type: 'logarithmic', title: { display: true, text: view.xParam } },
        y: { type: 'logarithmic', title: { display: true, text: 'ms' } },
      },
    },
  });

  const rateKey = view.series.some((s) => s.points.some((p) => p.tflops !== undefined))
    ? 'tflops'
    : view.series.some((s) => s.points.some((p) => p.mbPerSec !== undefined))
      ? 'mbPerSec'
      : undefined;
  if (rateKey) {
    const unit = rateKey === 'tflops' ? 'TFLOP/s' : 'MB/s';
    draw(`${view.suite}: ${unit}`, {
      type: 'line',
      data: {
        datasets: [
          ...view.series.map((s) => ({
            label: s.label,
            data: s.points.map((p) => ({ x: p.x, y: p[rateKey] ?? Number.NaN })),
            ...lineStyle(s, names, lines),
          })),
          ...(rateKey === 'tflops' ? peakLines(view) : []),
        ],
      },
      options: {
        ...common(`${view.suite}: ${unit} vs ${view.xParam} (log-log)`),
        scales: {
          x: { type: 'logarithmic', title: { display: true, text: view.xParam } },
          // Logarithmic: a reference CPU backend and a tuned peer differ by orders of magnitude.
          y: { type: 'logarithmic', title: { display: true, text: unit } },
        },
      },
    });
  }

  if (view.peerRatios.length > 0)
    draw(
      `${view.suite}: peers`,
      ratioBars(view.peerRatios, names, 'time / qkv time (above 1: qkv is faster)'),
    );
  if (view.runRatios.length > 0)
    draw(
      `${view.suite}: runs`,
      ratioBars(view.runRatios, names, 'later run / first run time (below 1: faster)'),
    );
  return drawn;
}

/** Flat grey lines at each run's best TFLOP/s, across the x range of the chart. */
function peakLines(view: SuiteView) {
  const xs = view.series.flatMap((s) => s.points.map((p) => p.x));
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
  return view.peaks.map((peak) => ({
    label: `best in run ${peak.run + 1}: ${peak.what}`,
    data: [
      { x: lo, y: peak.tflops },
      { x: hi, y: peak.tflops },
    ],
    borderColor: '#888',
    backgroundColor: '#888',
    borderDash: peak.run > 0 ? [2, 3] : [10, 4],
    borderWidth: 1,
    pointRadius: 0,
  }));
}

function ratioBars(
  ratios: SuiteView['peerRatios'],
  names: string[],
  title: string,
): ChartConfiguration {
  const labels = [...new Set(ratios.map((r) => r.caseLabel))];
  const keys = [...new Set(ratios.map((r) => `${r.name}|${r.run}`))];
  return {
    type: 'bar',
    data: {
      labels,
      datasets: keys.map((key) => {
        const [name, run] = key.split('|') as [string, string];
        const byCase = new Map(
          ratios
            .filter((r) => r.name === name && String(r.run) === run)
            .map((r) => [r.caseLabel, r.ratio]),
        );
        const colour = colourFor(name, names.includes(name) ? names : [...names, name]);
        return {
          label: Number(run) > 0 ? `${name} (run ${Number(run) + 1})` : name,
          data: labels.map((l) => byCase.get(l) ?? Number.NaN),
          backgroundColor: Number(run) > 0 ? `${colour}88` : colour,
        };
      }),
    },
    options: {
      ...common(title),
      scales: {
        x: { type: 'category', ticks: { autoSkip: false, maxRotation: 60 } },
        y: { type: 'logarithmic', title: { display: true, text: 'ratio' } },
      },
    },
  };
}
