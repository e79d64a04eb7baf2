import { fmt, s } from './dom.js';

export interface Series {
  label: string;
  colour: string;
  points: readonly (readonly [number, number])[];
}

/** A small SVG line chart with axes labels and a legend; points carry `data-x`/`data-y`. */
export function lineChart(
  series: readonly Series[],
  options: { xLabel: string; yLabel: string; name: string; width?: number; height?: number },
): SVGSVGElement {
  const { width = 620, height = 260 } = options;
  // The legend sits in the right margin.
  const pad = { left: 54, right: 130, top: 24, bottom: 40 };
  const all = series.flatMap((sr) => sr.points).filter(([, y]) => Number.isFinite(y));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x: number) => pad.left + ((x - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const py = (y: number) =>
    height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const svg = s('svg', { class: 'chart', width, height, 'data-name': options.name });
  svg.append(
    s('line', { x1: pad.left, y1: py(y0), x2: width - pad.right, y2: py(y0), class: 'axis' }),
    s('line', { x1: pad.left, y1: py(y0), x2: pad.left, y2: py(y1), class: 'axis' }),
    s(
      'text',
      { x: pad.left - 4, y: py(y1) + 10, 'text-anchor': 'end', class: 'label' },
      fmt(y1, 2),
    ),
    s('text', { x: pad.left - 4, y: py(y0), 'text-anchor': 'end', class: 'label' }, fmt(y0, 2)),
    s('text', { x: pad.left, y: height - 22, class: 'label' }, String(x0)),
    s(
      'text',
      { x: width - pad.right, y: height - 22, 'text-anchor': 'end', class: 'label' },
      String(x1),
    ),
    s(
      'text',
      { x: (width + pad.left) / 2, y: height - 6, 'text-anchor': 'middle', class: 'label' },
      options.xLabel,
    ),
    s('text', { x: 4, y: pad.top - 10, class: 'label' }, options.yLabel),
  );
  series.forEach((sr, i) => {
    const finite = sr.points.filter(([, y]) => Number.isFinite(y));
    const d = finite.map(([x, y], k) => `${k ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    svg.append(s('path', { d: d.join(''), stroke: sr.colour, fill: 'none', 'stroke-width': 2 }));
    for (const [x, y] of finite) {
      svg.append(
        s('circle', {
          cx: px(x),
          cy: py(y),
          r: 2.5,
          fill: sr.colour,
          'data-series': sr.label,
          'data-x': x,
          'data-y': String(y),
        }),
      );
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
        sr.label,
      ),
    );
  });
  return svg;
}
