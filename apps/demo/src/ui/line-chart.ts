import { fmt, s } from './dom.js';

export interface Series {
  label: string;
  colour: string;
  points: readonly (readonly [number, number])[];
  /** Dashed and without dots: a guide such as "∝ N²", not a measurement. */
  guide?: boolean;
}

export interface LineChartOptions {
  xLabel: string;
  yLabel: string;
  name: string;
  width?: number;
  height?: number;
  /** Both axes logarithmic, so power laws are straight lines of slope = the power. */
  logLog?: boolean;
  /** Fixed ranges (e.g. [0, 1] for scores), widened to take any point outside them. */
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
}

/** Round numbers between lo and hi for axis ticks: 1-2-5 steps, or powers of ten / two on a log axis. */
export function niceTicks(lo: number, hi: number, log: boolean, count = 5): number[] {
  if (log) {
    const ticks: number[] = [];
    const span = Math.log10(hi / lo);
    // Powers of two for short spans (N = 32, 64, …), of ten otherwise.
    const base = span < 1.6 ? 2 : 10;
    for (let e = Math.floor(Math.log(lo) / Math.log(base)); base ** e <= hi * 1.0001; e++) {
      const v = base ** e;
      if (v >= lo / 1.0001) ticks.push(v);
    }
    return ticks.length >= 2 ? ticks : [lo, hi];
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(v);
  return ticks;
}

function tickText(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(0);
  // Three digits: ticks 0.0415 and 0.042 apart must not both read 0.042.
  return a >= 10 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

/** A small SVG line chart with axis titles, ticks and a legend; points carry `data-x`/`data-y`. */
export function lineChart(series: readonly Series[], options: LineChartOptions): SVGSVGElement {
  const { width = 620, height = 260, logLog = false } = options;
  // The legend sits in the right margin.
  const pad = { left: 58, right: 130, top: 24, bottom: 44 };
  const usable = ([x, y]: readonly [number, number]) =>
    Number.isFinite(y) && (!logLog || (x > 0 && y > 0));
  const all = series.flatMap((sr) => sr.points).filter(usable);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const widen = (lo: number, hi: number, range?: readonly [number, number]): [number, number] =>
    range ? [Math.min(lo, range[0]), Math.max(hi, range[1])] : [lo, hi];
  [x0, x1] = widen(x0, x1, options.xRange);
  [y0, y1] = widen(y0, y1, options.yRange);
  if (y0 === y1) [y0, y1] = logLog ? [y0 / 2, y1 * 2] : [y0 - 1, y1 + 1];
  if (x0 === x1) [x0, x1] = logLog ? [x0 / 2, x1 * 2] : [x0 - 1, x1 + 1];
  const f = logLog ? Math.log : (v: number) => v;
  const px = (x: number) =>
    pad.left + ((f(x) - f(x0)) / (f(x1) - f(x0))) * (width - pad.left - pad.right);
  const py = (y: number) =>
    height - pad.bottom - ((f(y) - f(y0)) / (f(y1) - f(y0))) * (height - pad.top - pad.bottom);
  const svg = s('svg', {
    class: 'chart',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    'data-name': options.name,
    'data-scale': logLog ? 'log-log' : 'linear',
  });
  svg.append(
    s('line', { x1: pad.left, y1: py(y0), x2: width - pad.right, y2: py(y0), class: 'axis' }),
    s('line', { x1: pad.left, y1: py(y0), x2: pad.left, y2: py(y1), class: 'axis' }),
    s(
      'text',
      {
        x: (width + pad.left - pad.right) / 2,
        y: height - 6,
        'text-anchor': 'middle',
        class: 'axis-title',
      },
      options.xLabel + (logLog ? ' (log scale)' : ''),
    ),
    s(
      'text',
      { x: 4, y: pad.top - 10, class: 'axis-title' },
      options.yLabel + (logLog ? ' (log scale)' : ''),
    ),
  );
  for (const v of niceTicks(x0, x1, logLog)) {
    const x = px(v);
    svg.append(
      s('line', { x1: x, y1: py(y0), x2: x, y2: py(y0) + 4, class: 'axis' }),
      s(
        'text',
        { x, y: py(y0) + 16, 'text-anchor': 'middle', class: 'tick', 'data-tick-x': v },
        tickText(v),
      ),
    );
  }
  for (const v of niceTicks(y0, y1, logLog)) {
    const y = py(v);
    svg.append(
      s('line', { x1: pad.left - 4, y1: y, x2: pad.left, y2: y, class: 'axis' }),
      s('line', { x1: pad.left, y1: y, x2: width - pad.right, y2: y, class: 'grid-line' }),
      s(
        'text',
        { x: pad.left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick', 'data-tick-y': v },
        tickText(v),
      ),
    );
  }
  series.forEach((sr, i) => {
    const kept = sr.points.filter(usable);
    const d = kept.map(([x, y], k) => `${k ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    svg.append(
      s('path', {
        d: d.join(''),
        stroke: sr.colour,
        fill: 'none',
        'stroke-width': sr.guide ? 1 : 2,
        'stroke-dasharray': sr.guide ? '5 4' : undefined,
        'data-guide': sr.guide ? sr.label : undefined,
      }),
    );
    if (!sr.guide) {
      for (const [x, y] of kept) {
        svg.append(
          s(
            'circle',
            {
              cx: px(x),
              cy: py(y),
              r: 2.5,
              fill: sr.colour,
              'data-series': sr.label,
              'data-x': x,
              'data-y': String(y),
            },
            s('title', {}, `${sr.label}: ${x}, ${fmt(y, 3)}`),
          ),
        );
      }
    }
    svg.append(
      s(
        'text',
        {
          x: width - pad.right + 8,
          y: pad.top + 14 * (i + 1),
          class: 'label',
          style: `fill:${sr.colour}`,
        },
        (sr.guide ? '- - ' : '— ') + sr.label,
      ),
    );
  });
  return svg;
}
