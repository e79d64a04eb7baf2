import { tokenLabels } from '../app/state.js';
import { type Matrix, rowOf, stackAt } from '../model/matrix.js';
import { fmt, h } from '../ui/dom.js';
import { heatmap } from '../ui/heatmap.js';
import { querySpace } from '../ui/query-space.js';
import type { ViewContext } from './context.js';

/** Each value row times its softmax weight: the terms of the output's weighted sum. */
function scaledValues(values: Matrix, weights: Float32Array): Matrix {
  const data = new Float32Array(values.data.length);
  for (let j = 0; j < values.rows; j++) {
    for (let c = 0; c < values.cols; c++) {
      data[j * values.cols + c] = weights[j]! * values.data[j * values.cols + c]!;
    }
  }
  return { rows: values.rows, cols: values.cols, data };
}

/**
 * Attention as a soft dictionary lookup: one token's query is compared with every key, the
 * scaled scores go through a softmax, and the output is the weighted sum of the values.
 */
export function searchView(ctx: ViewContext): HTMLElement {
  const { layer, tokens, keyTokens } = ctx.analysis;
  const i = Math.min(ctx.settings.token, tokens.length - 1);
  const head = Math.max(0, Math.min(ctx.settings.head, layer.numHeads - 1));
  const q = rowOf(stackAt(layer.queries, head), i);
  const keys = stackAt(layer.keys, head);
  const values = stackAt(layer.values, head);
  const scores = rowOf(stackAt(layer.scores, head), i);
  const weights = rowOf(stackAt(layer.weights, head), i);
  const output = rowOf(stackAt(layer.outputs, head), i);
  const keyLabels = tokenLabels(keyTokens);
  const weightedLabels = keyLabels.map((l, j) => `${fmt(weights[j]!, 2)} × ${l}`);
  const dims = Array.from({ length: values.cols }, (_, c) => `v${c}`);

  const picker = h(
    'div',
    { class: 'picker' },
    ...tokens.map((t, k) =>
      h(
        'button',
        {
          class: k === i ? 'tok-button active' : 'tok-button',
          'data-token': k,
          onclick: () => ctx.update({ token: k }),
        },
        t.text,
      ),
    ),
  );
  const headPicker = h(
    'select',
    {
      id: 'search-head',
      onchange: (e: Event) => ctx.update({ head: Number((e.target as HTMLSelectElement).value) }),
    },
    ...Array.from({ length: layer.numHeads }, (_, k) =>
      h('option', { value: k, selected: k === head }, `head ${k}`),
    ),
  );
  const rows = keyTokens.map((_, j) => {
    const k = rowOf(keys, j);
    let dot = 0;
    for (let c = 0; c < q.length; c++) dot += q[c]! * k[c]!;
    const w = weights[j]!;
    return h(
      'tr',
      { 'data-key': j },
      h('td', {}, keyLabels[j]!),
      h('td', { class: 'num dot', 'data-value': String(dot) }, fmt(dot)),
      h('td', { class: 'num score', 'data-value': String(scores[j]) }, fmt(scores[j]!)),
      h(
        'td',
        { class: 'num weight', 'data-value': String(w) },
        h('span', { class: 'bar', style: `width:${(w * 100).toFixed(1)}%` }),
        fmt(w),
      ),
    );
  });
  const vector = (name: string, v: Float32Array) =>
    h(
      'div',
      { class: 'vector', 'data-name': name },
      h('b', {}, name),
      ...Array.from(v, (x) => h('span', { class: 'num', 'data-value': String(x) }, fmt(x, 2))),
    );
  return h(
    'section',
    {},
    h('h2', {}, 'Q, K, V as a search'),
    ctx.model.trained
      ? h(
          'p',
          { class: 'note', 'data-testid': 'search-layer-note' },
          `This view opens up one layer step by step, so it draws the seeded random layer (the settings at the top), not ${ctx.model.label}; that model's heads are in the Heads and Model views.`,
        )
      : null,
    h(
      'p',
      { class: 'note' },
      'Pick a token. Its query is compared with every key (dot product), scaled by 1/√d',
      h('sub', {}, 'head'),
      ` = 1/√${layer.headDim}, turned into weights by a softmax, and the output is the weighted sum of the values.`,
    ),
    picker,
    h('label', {}, 'Head ', headPicker),
    vector(`query q (${tokenLabels(tokens)[i]})`, q),
    h(
      'table',
      { class: 'search', 'data-testid': 'search-table', 'data-query': i, 'data-head': head },
      h(
        'tr',
        {},
        h('th', {}, 'key'),
        h('th', {}, 'q·k'),
        h(
          'th',
          {},
          `q·k/√${layer.headDim}${ctx.settings.positions === 'alibi' ? ' + ALiBi bias' : ''}`,
        ),
        h('th', {}, 'softmax'),
      ),
      ...rows,
    ),
    h('h3', {}, 'Values and the weighted sum'),
    h(
      'p',
      { class: 'note' },
      'Each key has a value row. Its softmax weight (the number before the token on the left) scales that row; the scaled rows on the right add up, column by column, to the output.',
    ),
    h(
      'div',
      { class: 'grid' },
      heatmap(values, {
        rowLabels: weightedLabels,
        colLabels: dims,
        scale: 'diverging',
        name: 'values',
        cell: 16,
        xTitle: 'dimension of v',
        yTitle: 'softmax weight × key',
      }),
      heatmap(scaledValues(values, weights), {
        rowLabels: keyLabels,
        colLabels: dims,
        scale: 'diverging',
        name: 'weighted-values',
        cell: 16,
        xTitle: 'weight · v (columns sum to the output)',
        yTitle: 'key',
      }),
    ),
    vector('output Σ softmaxⱼ·vⱼ', output),
    h('h3', {}, 'Queries and keys in 3-D'),
    querySpace(q, keys, weights, keyLabels),
  );
}
