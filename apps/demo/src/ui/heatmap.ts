import type { Matrix } from '../model/matrix.js';
import { fmt, h, s } from './dom.js';

export interface HeatmapOptions {
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** `sequential` for [0, max] (weights), `diverging` for values around zero. */
  scale?: 'sequential' | 'diverging';
  cell?: number;
  /** Used as the heatmap's `data-name`, which tests look up. */
  name?: string;
  title?: string;
  /** Axis titles, e.g. "key" / "query" or "dimension" / "position". */
  xTitle?: string;
  yTitle?: string;
  /** Fixed colour range top (e.g. 1 for probabilities); else the largest |value|. */
  max?: number;
  /** Leave out the colour bar (small multiples share one). */
  legend?: boolean;
  /** Draw the cells as one image whatever the size (thumbnails). */
  raster?: boolean;
  /** Cells only: no labels, ticks, titles or colour bar (small multiples). */
  bare?: boolean;
}

/** Cells past this count are drawn as one raster image instead of one SVG rect each. */
const RASTER_CELLS = 4096;

/** Colour for t in [0, 1] (sequential) or [-1, 1] (diverging), as CSS. */
export function colour(t: number, scale: 'sequential' | 'diverging'): string {
  const [r, g, b] = rgb(t, scale);
  return `rgb(${r},${g},${b})`;
}

function rgb(t: number, scale: 'sequential' | 'diverging'): [number, number, number] {
  if (!Number.isFinite(t)) return [242, 242, 242];
  if (scale === 'sequential') {
    const c = Math.max(0, Math.min(1, t));
    // White to deep blue.
    return [Math.round(255 - 225 * c), Math.round(255 - 175 * c), Math.round(255 - 75 * c)];
  }
  const c = Math.max(-1, Math.min(1, t));
  return c >= 0
    ? [255 - Math.round(40 * c), 255 - Math.round(190 * c), 255 - Math.round(190 * c)]
    : [255 + Math.round(190 * c), 255 + Math.round(120 * c), 255 + Math.round(30 * c)];
}

/** Every `step`-th index of 0..n-1 so that about `target` ticks are shown, always with the last. */
export function tickIndices(n: number, target = 8): number[] {
  const step = Math.max(1, Math.ceil(n / target));
  const ticks = [];
  for (let i = 0; i < n; i += step) ticks.push(i);
  if (ticks.at(-1) !== n - 1 && n - 1 - ticks.at(-1)! >= step / 2) ticks.push(n - 1);
  return ticks;
}

/**
 * A matrix as an SVG grid with axis titles, ticks and a colour bar. Every cell carries
 * `data-row`, `data-col` and `data-value` (the full-precision number) and a tooltip, so the
 * page can be read back exactly; large matrices are drawn as one raster image instead, with
 * the values on the `data-values` attribute of the image, to stay responsive.
 */
export function heatmap(m: Matrix, options: HeatmapOptions = {}): SVGSVGElement {
  const { scale = 'sequential', bare = false } = options;
  const xTitle = bare ? undefined : options.xTitle;
  const yTitle = bare ? undefined : options.yTitle;
  const legend = !bare && (options.legend ?? true);
  const cell =
    options.cell ?? Math.max(2, Math.min(28, Math.floor(420 / Math.max(m.rows, m.cols))));
  // Labels only where they can be read; otherwise numeric ticks every few cells.
  const readable = cell >= 10 && !bare;
  const rowLabels = options.rowLabels && readable ? options.rowLabels : undefined;
  const colLabels = options.colLabels && readable ? options.colLabels : undefined;
  const longest = (labels: readonly string[]) =>
    8 + 7 * Math.min(18, Math.max(...labels.map((l) => l.length)));
  const titleGap = (title?: string) => (title ? 16 : 0);
  const left = bare ? 0 : titleGap(yTitle) + (rowLabels ? longest(rowLabels) : 24);
  const top = bare ? 0 : titleGap(xTitle) + (colLabels ? longest(colLabels) * 0.87 : 16);
  let limit = 0;
  for (const v of m.data) if (Number.isFinite(v)) limit = Math.max(limit, Math.abs(v));
  limit = options.max ?? (limit || 1);
  const gridW = cell * m.cols;
  const gridH = cell * m.rows;
  const barW = legend ? 58 : 0;
  // A short grid still leaves room for its turned y title (about 7 px a character).
  const bodyH = Math.max(gridH, yTitle ? yTitle.length * 7 + 8 : 0, legend ? 60 : 0);
  const svg = s('svg', {
    class: 'heatmap',
    // Column labels are turned 60° and reach past the last column by about half their length.
    width: bare ? gridW : left + gridW + 4 + Math.max(barW, colLabels ? Math.ceil(top / 2) : 8),
    height: bare ? gridH : top + bodyH + 4,
    'data-name': options.name,
    'data-rows': m.rows,
    'data-cols': m.cols,
    role: 'img',
    'aria-label': options.title ?? options.name ?? 'heatmap',
  });
  if (yTitle) {
    const y = top + bodyH / 2;
    svg.append(
      s(
        'text',
        {
          x: 10,
          y,
          transform: `rotate(-90 10 ${y})`,
          'text-anchor': 'middle',
          class: 'axis-title',
        },
        yTitle,
      ),
    );
  }
  if (xTitle) {
    svg.append(
      s(
        'text',
        { x: left + gridW / 2, y: 11, 'text-anchor': 'middle', class: 'axis-title' },
        xTitle,
      ),
    );
  }
  if (rowLabels) {
    rowLabels.forEach((label, r) => {
      svg.append(
        s(
          'text',
          { x: left - 4, y: top + r * cell + cell * 0.7, 'text-anchor': 'end', class: 'label' },
          label.slice(0, 18),
        ),
      );
    });
  } else if (!bare) {
    for (const r of tickIndices(m.rows)) {
      svg.append(
        s(
          'text',
          { x: left - 4, y: top + (r + 0.5) * cell + 4, 'text-anchor': 'end', class: 'tick' },
          r,
        ),
      );
    }
  }
  if (colLabels) {
    colLabels.forEach((label, c) => {
      const x = left + c * cell + cell * 0.7;
      svg.append(
        s(
          'text',
          { x, y: top - 4, transform: `rotate(-60 ${x} ${top - 4})`, class: 'label' },
          label.slice(0, 18),
        ),
      );
    });
  } else if (!bare) {
    for (const c of tickIndices(m.cols)) {
      svg.append(
        s(
          'text',
          { x: left + (c + 0.5) * cell, y: top - 4, 'text-anchor': 'middle', class: 'tick' },
          c,
        ),
      );
    }
  }
  const label = (r: number, c: number) =>
    `${options.rowLabels?.[r] ?? r} → ${options.colLabels?.[c] ?? c}`;
  if (options.raster || m.rows * m.cols > RASTER_CELLS) {
    const image = rasterCells(m, limit, scale, { x: left, y: top, w: gridW, h: gridH });
    // Small enough to read back exactly, as the rects' data-value would be.
    if (m.data.length <= 65536) image.setAttribute('data-values', Array.from(m.data).join(','));
    svg.append(image);
    svg.addEventListener('pointermove', (e) => {
      const box = svg.getBoundingClientRect();
      const c = Math.floor((e.clientX - box.left - left) / cell);
      const r = Math.floor((e.clientY - box.top - top) / cell);
      const inside = r >= 0 && c >= 0 && r < m.rows && c < m.cols;
      svg.querySelector('title')?.remove();
      if (inside) svg.prepend(s('title', {}, `${label(r, c)}: ${fmt(m.data[r * m.cols + c]!, 4)}`));
    });
  } else {
    for (let r = 0; r < m.rows; r++) {
      for (let c = 0; c < m.cols; c++) {
        const v = m.data[r * m.cols + c]!;
        const rect = s('rect', {
          x: left + c * cell,
          y: top + r * cell,
          width: cell,
          height: cell,
          fill: colour(v / limit, scale),
          'data-row': r,
          'data-col': c,
          'data-value': String(v),
        });
        rect.append(s('title', {}, `${label(r, c)}: ${fmt(v, 4)}`));
        svg.append(rect);
      }
    }
  }
  if (legend) svg.append(colourBar(left + gridW + 10, top, Math.max(gridH, 60), limit, scale));
  return svg;
}

/** The cells as one image: a canvas of one pixel per cell, scaled up without smoothing. */
function rasterCells(
  m: Matrix,
  limit: number,
  scale: 'sequential' | 'diverging',
  at: { x: number; y: number; w: number; h: number },
): SVGImageElement {
  const canvas = h('canvas', { width: m.cols, height: m.rows });
  const ctx = canvas.getContext('2d');
  if (ctx) {
    const image = ctx.createImageData(m.cols, m.rows);
    for (let i = 0; i < m.rows * m.cols; i++) {
      const [r, g, b] = rgb(m.data[i]! / limit, scale);
      image.data.set([r, g, b, 255], i * 4);
    }
    ctx.putImageData(image, 0, 0);
  }
  return s('image', {
    href: canvas.toDataURL(),
    x: at.x,
    y: at.y,
    width: at.w,
    height: at.h,
    preserveAspectRatio: 'none',
    style: 'image-rendering:pixelated',
    class: 'cells',
  });
}

/** A vertical colour bar from the scale's bottom to `limit`, with its end and middle ticks. */
function colourBar(
  x: number,
  y: number,
  height: number,
  limit: number,
  scale: 'sequential' | 'diverging',
): SVGGElement {
  const g = s('g', {
    class: 'colour-bar',
    'data-min': scale === 'diverging' ? -limit : 0,
    'data-max': limit,
  });
  const steps = 24;
  const low = scale === 'diverging' ? -1 : 0;
  for (let i = 0; i < steps; i++) {
    // From the top (the largest value) down; paths, not rects, so cells are the only rects.
    const t = 1 - ((i + 0.5) / steps) * (1 - low);
    const y0 = y + (i * height) / steps;
    g.append(
      s('path', {
        d: `M${x},${y0.toFixed(1)}h10v${(height / steps + 0.5).toFixed(1)}h-10z`,
        fill: colour(t, scale),
      }),
    );
  }
  const lowValue = low * limit;
  const ticks: [number, number][] = [
    [limit, y],
    [(limit + lowValue) / 2, y + height / 2],
    [lowValue, y + height],
  ];
  for (const [v, ty] of ticks) {
    g.append(
      s('text', { x: x + 14, y: ty + 4, class: 'tick' }, fmt(v, Math.abs(limit) < 1 ? 2 : 1)),
    );
  }
  return g;
}
