import { tokenLabels } from '../app/state.js';
import { type MatrixStack, stackAt } from '../model/matrix.js';
import { h, s } from '../ui/dom.js';
import { heatmap } from '../ui/heatmap.js';
import type { ViewContext } from './context.js';

const HEAD_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b'];

/** The caveat that belongs wherever attention weights are drawn. */
export function caveat(): HTMLElement {
  return h(
    'aside',
    { class: 'caveat', 'data-testid': 'caveat' },
    h('b', {}, 'Attention weights are an approximation, not an explanation. '),
    'They say how much of each value is mixed into a token in this one layer and head; what a model does with that mix happens in the projections and layers around it, and different weights can give the same output (Jain & Wallace 2019; Wiegreffe & Pinter 2019).',
  );
}

/** "4 heads × d_head 8": how many heads and how wide each one is. */
export function headShape(numHeads: number, headDim: number): string {
  return `${numHeads} head${numHeads === 1 ? '' : 's'} × d_head ${headDim}`;
}

/**
 * A multi-head layer: a heatmap of weights per head, and a head view with a line from each
 * query token to each key token, as dark as its weight. Self-attention reads one sentence;
 * cross-attention takes keys and values from a second sequence.
 */
export function headsView(ctx: ViewContext): HTMLElement | Promise<HTMLElement> {
  return ctx.model.trained ? loadedHeadsView(ctx) : randomHeadsView(ctx);
}

/** One layer of a loaded model: a heatmap per head, a layer picker, and the head view. */
async function loadedHeadsView(ctx: ViewContext): Promise<HTMLElement> {
  const model = ctx.model;
  const tokens = await model.tokenize(ctx.settings.text);
  const attentions = await model.attentions(tokens.map((t) => t.id));
  const layer = Math.max(0, Math.min(ctx.settings.layer, attentions.length - 1));
  const weights = attentions[layer]!;
  const labels = tokenLabels(tokens);
  const picker = h(
    'label',
    {},
    'Layer ',
    h(
      'select',
      {
        id: 'layer',
        onchange: (e: Event) =>
          ctx.update({ layer: Number((e.target as HTMLSelectElement).value) }),
      },
      ...attentions.map((_, l) => h('option', { value: l, selected: l === layer }, `layer ${l}`)),
    ),
  );
  return h(
    'section',
    { 'data-layer': layer },
    h('h2', {}, `Heads: layer ${layer} of ${model.numLayers}, ${model.numHeads} heads`),
    h('p', { class: 'note', 'data-testid': 'model-label' }, model.label),
    picker,
    caveat(),
    headMaps(weights, labels, labels),
    h('h3', {}, 'Head view'),
    lazyHeadLines(ctx, weights, labels, labels),
  );
}

/** A heatmap of weights per head of one layer `[H, L, S]`. */
function headMaps(weights: MatrixStack, rowLabels: string[], colLabels: string[]): HTMLElement {
  return h(
    'div',
    { class: 'grid' },
    ...Array.from({ length: weights.count }, (_, k) =>
      h(
        'figure',
        {},
        heatmap(stackAt(weights, k), {
          rowLabels,
          colLabels,
          name: `weights-head-${k}`,
          title: `head ${k} attention weights`,
          xTitle: 'key',
          yTitle: 'query',
        }),
        h('figcaption', {}, `head ${k}: each row (a query) sums to 1 over the keys`),
      ),
    ),
  );
}

/** The seeded (or file-loaded) single layer, self- or cross-attention. */
function randomHeadsView(ctx: ViewContext): HTMLElement {
  const { layer, tokens, keyTokens } = ctx.analysis;
  const rowLabels = tokenLabels(tokens);
  const colLabels = tokenLabels(keyTokens);
  const mode = h(
    'div',
    { class: 'modes' },
    ...(['self', 'cross'] as const).map((m) =>
      h(
        'label',
        {},
        h('input', {
          type: 'radio',
          name: 'mode',
          value: m,
          checked: ctx.settings.mode === m,
          'data-testid': `mode-${m}`,
          onchange: () => ctx.update({ mode: m }),
        }),
        `${m}-attention `,
      ),
    ),
    ctx.settings.mode === 'cross'
      ? h('input', {
          id: 'cross-text',
          size: 50,
          value: ctx.settings.crossText,
          onchange: (e: Event) => ctx.update({ crossText: (e.target as HTMLInputElement).value }),
        })
      : null,
  );
  const maps = headMaps(layer.weights, rowLabels, colLabels);
  return h(
    'section',
    {},
    h(
      'h2',
      {},
      `Heads: ${ctx.settings.mode}-attention, ${headShape(layer.numHeads, layer.headDim)}`,
    ),
    mode,
    caveat(),
    maps,
    h('h3', {}, 'Head view'),
    h(
      'p',
      { class: 'note' },
      'Queries on the left, keys on the right; a line is as dark and thick as its weight (weights under 0.02 are left out).',
    ),
    lazyHeadLines(ctx, layer.weights, rowLabels, colLabels),
  );
}

/** Past this many tokens the head view (20 px a token) is drawn only when opened. */
const LAZY_TOKENS = 60;

/** The head view, folded and drawn on first open for long texts, so they stay responsive. */
function lazyHeadLines(
  ctx: ViewContext,
  weights: MatrixStack,
  rowLabels: string[],
  colLabels: string[],
): HTMLElement {
  if (Math.max(rowLabels.length, colLabels.length) <= LAZY_TOKENS)
    return headLines(ctx, weights, rowLabels, colLabels);
  const folded = h(
    'details',
    { 'data-testid': 'head-view-folded' },
    h('summary', {}, `Show the head view (${rowLabels.length} tokens: a tall figure)`),
  );
  folded.addEventListener(
    'toggle',
    () => {
      if (folded.open) folded.append(headLines(ctx, weights, rowLabels, colLabels));
    },
    { once: true },
  );
  return folded;
}

function headLines(
  ctx: ViewContext,
  weights: MatrixStack,
  rowLabels: string[],
  colLabels: string[],
): HTMLElement {
  const numHeads = weights.count;
  const selected = Math.min(ctx.settings.head, numHeads - 1);
  const rowH = 20;
  const height = 20 + rowH * Math.max(rowLabels.length, colLabels.length);
  const svg = s('svg', { width: 460, height, class: 'head-view', 'data-name': 'head-view' });
  svg.append(
    ...rowLabels.map((l, i) =>
      s('text', { x: 120, y: 20 + i * rowH, 'text-anchor': 'end', class: 'label' }, l),
    ),
    ...colLabels.map((l, j) => s('text', { x: 340, y: 20 + j * rowH, class: 'label' }, l)),
  );
  const heads = selected < 0 ? [...Array(numHeads).keys()] : [selected];
  for (const k of heads) {
    const w = stackAt(weights, k);
    for (let i = 0; i < w.rows; i++) {
      for (let j = 0; j < w.cols; j++) {
        const v = w.data[i * w.cols + j]!;
        if (v < 0.02) continue;
        svg.append(
          s('line', {
            x1: 126,
            y1: 16 + i * rowH,
            x2: 334,
            y2: 16 + j * rowH,
            stroke: HEAD_COLOURS[k % HEAD_COLOURS.length],
            'stroke-opacity': v.toFixed(3),
            'stroke-width': 1 + 3 * v,
          }),
        );
      }
    }
  }
  const picker = h(
    'div',
    { class: 'head-picker' },
    ...[-1, ...Array(numHeads).keys()].map((k) =>
      h(
        'button',
        {
          class: k === selected ? 'active' : '',
          style: k >= 0 ? `border-color:${HEAD_COLOURS[k % HEAD_COLOURS.length]}` : '',
          onclick: () => ctx.update({ head: k }),
        },
        k < 0 ? 'all heads' : `head ${k}`,
      ),
    ),
  );
  return h('div', {}, picker, svg);
}
