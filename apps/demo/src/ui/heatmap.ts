import type { Matrix } from '../model/matrix.js';
import { fmt, s } from './dom.js';

export interface HeatmapOptions {
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** `sequential` for [0, max] (weights), `diverging` for values around zero. */
  scale?: 'sequential' | 'diverging';
  cell?: number;
  /** Used as the heatmap's `data-name`, which tests look up. */
  name?: string;
  title?: string;
}

/** Colour for t in [0, 1] (sequential) or [-1, 1] (diverging), as CSS. */
export function colour(t: number, scale: 'sequential' | 'diverging'): string {
  if (!Number.isFinite(t)) return '#f2f2f2';
  if (scale === 'sequential') {
    const c = Math.max(0, Math.min(1, t));
    // White to deep blue.
    return `rgb(${Math.round(255 - 225 * c)},${Math.round(255 - 175 * c)},${Math.round(255 - 75 * c)})`;
  }
  const c = Math.max(-1, Math.min(1, t));
  return c >= 0
    ? `rgb(${Math.round(255 - 40 * c)},${Math.round(255 - 190 * c)},${Math.round(255 - 190 * c)})`
    : `rgb(${Math.round(255 + 190 * c)},${Math.round(255 + 120 * c)},${Math.round(255 + 30 * c)})`;
}

/**
 * A matrix as an SVG grid. Every cell carries `data-row`, `data-col` and `data-value` (the
 * full-precision number), and a tooltip, so the page can be read back exactly.
 */
export function heatmap(m: Matrix, options: HeatmapOptions = {}): SVGSVGElement {
  const { rowLabels, colLabels, scale = 'sequential' } = options;
  const cell =
    options.cell ?? Math.max(4, Math.min(28, Math.floor(420 / Math.max(m.rows, m.cols))));
  const left = rowLabels ? 8 + 7 * Math.min(14, Math.max(...rowLabels.map((l) => l.length))) : 0;
  const top = colLabels ? 8 + 7 * Math.min(14, Math.max(...colLabels.map((l) => l.length))) : 0;
  let limit = 0;
  for (const v of m.data) if (Number.isFinite(v)) limit = Math.max(limit, Math.abs(v));
  limit ||= 1;
  const svg = s('svg', {
    class: 'heatmap',
    // Column labels are turned 60° and reach past the last column by about half their length.
    width: left + cell * m.cols + 2 + Math.ceil(top / 2),
    height: top + cell * m.rows + 2,
    'data-name': options.name,
    'data-rows': m.rows,
    'data-cols': m.cols,
    role: 'img',
    'aria-label': options.title ?? options.name ?? 'heatmap',
  });
  rowLabels?.forEach((label, r) => {
    svg.append(
      s(
        'text',
        { x: left - 4, y: top + r * cell + cell * 0.7, 'text-anchor': 'end', class: 'label' },
        label.slice(0, 14),
      ),
    );
  });
  colLabels?.forEach((label, c) => {
    const x = left + c * cell + cell * 0.7;
    svg.append(
      s(
        'text',
        { x, y: top - 4, transform: `rotate(-60 ${x} ${top - 4})`, class: 'label' },
        label.slice(0, 14),
      ),
    );
  });
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
      rect.append(s('title', {}, `${rowLabels?.[r] ?? r} → ${colLabels?.[c] ?? c}: ${fmt(v, 4)}`));
      svg.append(rect);
    }
  }
  return svg;
}
