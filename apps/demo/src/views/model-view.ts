import { tokenLabels } from '../app/state.js';
import type { CurrentModel } from '../model/current-model.js';
import {
  firstTokenShares,
  type HeadRole,
  inductionScores,
  previousTokenScores,
  rankHeads,
  repeatedRandomTokens,
} from '../model/head-roles.js';
import { type MatrixStack, stackAt } from '../model/matrix.js';
import { actionButton } from '../ui/action-button.js';
import { fmt, h } from '../ui/dom.js';
import { heatmap } from '../ui/heatmap.js';
import type { ViewContext } from './context.js';

/** Random tokens per half of the induction probe (the sequence is prefix + 2 × this). */
const PROBE_LENGTH = 24;
export const PROBE_SEED = 1;

/** Per-head roles on the current text: previous-token score and first-token share. */
export function headRoles(attentions: readonly MatrixStack[]): HeadRole[] {
  return attentions.flatMap((layer, l) => {
    const previous = previousTokenScores(layer);
    const first = firstTokenShares(layer);
    return previous.map((p, k) => ({ layer: l, head: k, previousToken: p, firstToken: first[k]! }));
  });
}

/** Half the probe's length: 24 tokens, fewer where the model takes fewer positions. */
export function probeLength(model: Pick<CurrentModel, 'maxPositions' | 'probePrefix'>): number {
  const room = model.maxPositions ?? Number.POSITIVE_INFINITY;
  return Math.min(PROBE_LENGTH, Math.floor((room - model.probePrefix.length) / 2));
}

/** Run the induction probe: attention on prefix + r + r, scored per head of every layer. */
export async function inductionProbe(model: CurrentModel): Promise<number[][]> {
  const [low, high] = model.probeRange;
  const length = probeLength(model);
  const ids = repeatedRandomTokens(length, low, high, PROBE_SEED, model.probePrefix);
  const attentions = await model.attentions(ids);
  return attentions.map((a) => inductionScores(a, length, model.probePrefix.length));
}

/**
 * The model at a glance (as BertViz's model view): a grid of small attention maps, one per
 * layer and head, for the current text; clicking one opens it in the heads view. Under it,
 * what each head does, measured: previous-token score, first-token share, and on demand the
 * induction probe that ranks the heads.
 */
export async function modelView(ctx: ViewContext): Promise<HTMLElement> {
  const model = ctx.model;
  const tokens = await model.tokenize(ctx.settings.text);
  const attentions = await model.attentions(tokens.map((t) => t.id));
  const labels = tokenLabels(tokens);
  const L = tokens.length;
  const cell = Math.max(1, Math.floor(84 / L));
  const legend = heatmap(
    { rows: 1, cols: 11, data: Float32Array.from({ length: 11 }, (_, i) => i / 10) },
    {
      cell: 14,
      legend: false,
      name: 'model-legend',
      rowLabels: [''],
      colLabels: ['0', '', '', '', '', '0.5', '', '', '', '', '1'],
    },
  );
  const grid = h(
    'div',
    {
      class: 'model-grid',
      'data-testid': 'model-grid',
      style: `grid-template-columns: 3em repeat(${model.numHeads}, ${cell * L + 8}px)`,
    },
    h('span', {}),
    ...Array.from({ length: model.numHeads }, (_, k) =>
      h('span', { class: 'tick-head' }, `head ${k}`),
    ),
    ...attentions.flatMap((layer, l) => [
      h('span', { class: 'tick-layer' }, `layer ${l}`),
      ...Array.from({ length: layer.count }, (_, k) =>
        h(
          'button',
          {
            class: 'thumb',
            title: `layer ${l}, head ${k}: open in the heads view`,
            'data-layer': l,
            'data-head': k,
            onclick: () => ctx.update({ view: 'heads', layer: l, head: k }),
          },
          heatmap(stackAt(layer, k), {
            cell,
            bare: true,
            raster: true,
            max: 1,
            name: `model-${l}-${k}`,
            rowLabels: labels,
            colLabels: labels,
          }),
        ),
      ),
    ]),
  );
  const roles = headRoles(attentions);
  const table = rolesTable(roles);
  const status = h('p', { class: 'note', 'data-testid': 'induction-status' });
  const find = actionButton(
    'find induction heads',
    { 'data-testid': 'find-induction' },
    status,
    { running: 'Running the induction probe…', failed: 'The probe failed' },
    async () => {
      const scores = await inductionProbe(model);
      for (const r of roles) r.induction = scores[r.layer]![r.head]!;
      const ranked = rankHeads(roles, 'induction');
      table.replaceWith(rolesTable(ranked, true));
      return probeSummary(model, ranked);
    },
  );
  return h(
    'section',
    {},
    h(
      'h2',
      {},
      `Model: ${model.numLayers} layer${model.numLayers === 1 ? '' : 's'} × ${model.numHeads} heads`,
    ),
    h('p', { class: 'note', 'data-testid': 'model-label' }, model.label),
    h(
      'p',
      { class: 'note' },
      'Each small map is one head: rows are queries (top to bottom), columns keys (left to right), darker is more weight, on the scale below. Click one to open it in the heads view.',
    ),
    h('div', { class: 'row note' }, 'attention weight ', legend),
    h('div', { class: 'scroll' }, grid),
    h('h3', {}, 'What each head does, measured'),
    h(
      'p',
      { class: 'note' },
      "Previous-token score: the mean weight a token puts on the one just before it. First-token share: the mean weight on the first token (many trained heads park attention there when they have nothing to do). Induction score: on a random sequence repeated twice, the mean weight from a token's second occurrence to the token that followed its first occurrence, the pattern that lets a model continue a repeat (Olsson et al. 2022). Scores are on this text, except induction.",
    ),
    h('div', { class: 'row' }, find, status),
    table,
  );
}

/** What the probe measured, in words: the top heads and their layers, nothing more. */
function probeSummary(model: CurrentModel, ranked: readonly HeadRole[]): string {
  const top = ranked.slice(0, Math.min(5, ranked.length));
  const layers = [...new Set(top.map((r) => r.layer))].sort((a, b) => a - b);
  const heads = top.map((r) => `${r.layer}.${r.head} (${fmt(r.induction!, 2)})`).join(', ');
  const prefix = model.probePrefix.length ? ' after the BOS token' : '';
  const chance = model.trained
    ? ''
    : ' These are untrained random weights: no head has learned anything, so any ranking is chance.';
  return `Measured on ${probeLength(model)} random tokens repeated once${prefix}: the top heads (layer.head) by induction score are ${heads}, in layer${layers.length > 1 ? 's' : ''} ${layers.join(', ')}.${chance}`;
}

function rolesTable(roles: readonly HeadRole[], ranked = false): HTMLTableElement {
  const num = (v: number | undefined, cls: string) =>
    h(
      'td',
      { class: `num ${cls}`, 'data-value': v === undefined ? '' : String(v) },
      v === undefined ? '—' : fmt(v, 3),
    );
  return h(
    'table',
    {
      class: 'roles',
      'data-testid': 'roles-table',
      'data-ranked': ranked ? 'induction' : undefined,
    },
    h(
      'tr',
      {},
      ...(ranked ? [h('th', {}, 'rank')] : []),
      h('th', {}, 'layer'),
      h('th', {}, 'head'),
      h('th', {}, 'previous-token'),
      h('th', {}, 'first-token'),
      h('th', {}, 'induction'),
    ),
    ...roles.map((r, i) =>
      h(
        'tr',
        { 'data-layer': r.layer, 'data-head': r.head },
        ...(ranked ? [h('td', { class: 'num' }, i + 1)] : []),
        h('td', { class: 'num' }, r.layer),
        h('td', { class: 'num' }, r.head),
        num(r.previousToken, 'previous'),
        num(r.firstToken, 'first'),
        num(r.induction, 'induction'),
      ),
    ),
  );
}
