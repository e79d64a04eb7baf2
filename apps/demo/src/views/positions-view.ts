import { tokenLabels } from '../app/state.js';
import type { PositionScheme } from '../model/layer.js';
import { type Matrix, stackAt } from '../model/matrix.js';
import {
  alibi,
  cosineSimilarity,
  ropePair,
  scoreVsDistance,
  sinusoidalMatrix,
} from '../model/positions.js';
import { fmt, h, s } from '../ui/dom.js';
import { heatmap } from '../ui/heatmap.js';
import { lineChart } from '../ui/line-chart.js';
import type { ViewContext } from './context.js';

const HEAD_DIM = 32;
const MAX_DISTANCE = 40;

/**
 * Four ways to put positions into attention, each computed by @qkv/positional on the
 * learner's sentence: the sinusoidal table, RoPE's rotation of one dimension pair, ALiBi's
 * distance bias, and what each does to a query-key score as the distance grows. The scheme
 * picked under "Positions" at the top comes first and open; the others are folded below.
 */
export function positionsView(ctx: ViewContext): HTMLElement {
  const chosen = ctx.settings.positions;
  const sections: Record<Exclude<PositionScheme, 'none'>, () => Element[]> = {
    sinusoidal: () => sinusoidalSection(ctx),
    rope: () => ropeSection(ctx),
    alibi: () => alibiSection(ctx),
  };
  const titles = {
    sinusoidal: 'Sinusoidal table (Vaswani et al. 2017)',
    rope: 'RoPE: a rotation per dimension pair (Su et al. 2021)',
    alibi: 'ALiBi: a bias that grows with distance (Press et al. 2022)',
  };
  const order = (Object.keys(sections) as (keyof typeof sections)[]).sort(
    (a, b) => Number(b === chosen) - Number(a === chosen),
  );
  return h(
    'section',
    {},
    h('h2', {}, 'Positions'),
    h(
      'p',
      { class: 'note', 'data-testid': 'positions-chosen', 'data-scheme': chosen },
      chosen === 'none'
        ? 'Positions: none (the choice at the top). Attention by itself ignores order: permute the tokens and each one gets the same output, permuted. Pick a scheme under "Positions" at the top to put order in; all of them are shown below on your sentence.'
        : `Positions: ${chosen} (the choice at the top), shown first on your sentence; the other schemes are folded below. Attention by itself ignores order, so positions have to be put in.`,
    ),
    ...order.map((name) =>
      h(
        'details',
        { open: name === chosen || chosen === 'none', 'data-scheme': name },
        h('summary', {}, h('h3', { class: 'inline' }, titles[name])),
        ...sections[name](),
      ),
    ),
    learnedSection(ctx),
    h('h3', {}, 'q·k as the distance grows'),
    ...distanceSection(ctx),
  );
}

/** Positions shown in the learned table's similarity matrix (GPT-2 has 1024). */
const LEARNED_SHOWN = 256;

/**
 * Learned absolute positions (GPT-2's `wpe`, Radford et al. 2019): a vector per position
 * trained with the model. Their cosine similarities show what was learned: neighbours are
 * alike, and the similarity fades with distance. Filled in when the table has been read.
 */
function learnedSection(ctx: ViewContext): HTMLElement {
  const slot = h('div', { 'data-testid': 'learned-positions' });
  const section = h(
    'details',
    { open: true, 'data-scheme': 'learned' },
    h('summary', {}, h('h3', { class: 'inline' }, 'Learned positions (GPT-2)')),
    slot,
  );
  const read = ctx.model.positionEmbeddings;
  if (!read) {
    slot.append(
      h(
        'p',
        { class: 'note' },
        'GPT-2 learns a vector per position (its `wpe` table) instead of using a formula. Load GPT-2 small (or a GPT-2 checkpoint from files) above to see the cosine similarity of its position vectors.',
      ),
    );
    return section;
  }
  slot.append(h('p', { class: 'note' }, 'Reading the position table…'));
  void read()
    .then((table) => {
      if (!table) {
        slot.replaceChildren(
          h('p', { class: 'note' }, 'This model has no learned position table.'),
        );
        return;
      }
      const shown = Math.min(LEARNED_SHOWN, table.rows);
      slot.replaceChildren(
        h(
          'p',
          { class: 'note' },
          `cos(p_i, p_j) for the first ${shown} of ${table.rows} learned position vectors of width ${table.cols}: how alike the model made positions i and j.`,
        ),
        heatmap(cosineSimilarity(table, shown), {
          scale: 'diverging',
          name: 'learned-cosine',
          max: 1,
          cell: Math.max(1, Math.floor(400 / shown)),
          xTitle: 'position j',
          yTitle: 'position i',
        }),
      );
      slot.setAttribute('data-done', '');
    })
    .catch((error: Error) => {
      slot.replaceChildren(
        h('p', { class: 'error' }, `Reading the position table failed: ${error.message}`),
      );
    });
  return section;
}

function sinusoidalSection(ctx: ViewContext): Element[] {
  const { tokens } = ctx.analysis;
  const table = sinusoidalMatrix(tokens.length, HEAD_DIM);
  return [
    h(
      'p',
      { class: 'note' },
      `PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(…), here one row per token of your sentence (${tokens.length} positions) × d = ${HEAD_DIM}. Early dimensions turn fast, late ones slowly, like the hands of a clock; the table is added to the token vectors.`,
    ),
    heatmap(table, {
      scale: 'diverging',
      name: 'sinusoidal',
      // Big enough for token labels on short sentences; small for long ones.
      cell: tokens.length <= 40 ? 12 : 8,
      rowLabels: tokenLabels(tokens),
      xTitle: 'dimension',
      yTitle: 'position (token)',
    }),
  ];
}

function ropeSection(ctx: ViewContext): Element[] {
  const { tokens } = ctx.analysis;
  const pair = Math.min(ctx.settings.pair, HEAD_DIM / 2 - 1);
  const positions = Math.min(tokens.length, 32);
  const rope = ropePair(HEAD_DIM, pair, positions, ctx.settings.seed);
  const pairSlider = h('input', {
    id: 'rope-pair',
    type: 'range',
    min: 0,
    max: HEAD_DIM / 2 - 1,
    value: pair,
    onchange: (e: Event) => ctx.update({ pair: Number((e.target as HTMLInputElement).value) }),
  });
  return [
    h(
      'label',
      {},
      `Pair ${pair} (0 to ${HEAD_DIM / 2 - 1}) `,
      pairSlider,
      h(
        'span',
        { class: 'note', 'data-testid': 'rope-theta', 'data-value': String(rope.invFreq) },
        ` θ = 10000^(-2·${pair}/${HEAD_DIM}) = ${fmt(rope.invFreq, 5)} rad per position (${fmt((rope.invFreq * 180) / Math.PI, 2)}°)`,
      ),
    ),
    ropeCircle(rope.points, tokenLabels(tokens)),
    h(
      'p',
      { class: 'note' },
      `The same vector put at the positions of your first ${positions} tokens: RoPE turns each pair of a query and a key by position·θ, so their dot product depends only on how far apart they are.`,
    ),
  ];
}

function alibiSection(ctx: ViewContext): Element[] {
  const { tokens } = ctx.analysis;
  const { numHeads, causal } = ctx.settings;
  const head = Math.max(0, Math.min(ctx.settings.head, numHeads - 1));
  const { slopes, bias } = alibi(numHeads, tokens.length);
  const shown: Matrix = stackAt(bias, head);
  if (causal) {
    // Keys after the query are masked out: the bias there never reaches a softmax.
    shown.data = shown.data.map((v, f) =>
      f % shown.cols > Math.floor(f / shown.cols) ? Number.NEGATIVE_INFINITY : v,
    );
  }
  const slope = slopes[head]!;
  const form = causal
    ? `adds −${fmt(slope, 4)}·(i − j) to score(i, j) for keys j ≤ i; keys after the query are masked (the paper's causal form, as "causal" is on at the top).`
    : `adds −${fmt(slope, 4)}·|i − j| to score(i, j), on both sides of the query: the bidirectional form, as "causal" is off at the top.`;
  return [
    h(
      'p',
      { class: 'note', 'data-testid': 'alibi-slopes', 'data-head': head, 'data-slope': slope },
      `Slopes 2^(−8k/H) for H = ${numHeads} heads: ${[...slopes].map((v, k) => `head ${k}: ${fmt(v, 4)}`).join(', ')}. Head ${head} ${form}`,
    ),
    heatmap(shown, {
      scale: 'diverging',
      name: 'alibi',
      cell: Math.max(4, Math.min(16, Math.floor(360 / tokens.length))),
      rowLabels: tokenLabels(tokens),
      colLabels: tokenLabels(tokens),
      xTitle: 'key j',
      yTitle: 'query i',
    }),
  ];
}

function distanceSection(ctx: ViewContext): Element[] {
  const numHeads = ctx.settings.numHeads;
  const head = Math.max(0, Math.min(ctx.settings.head, numHeads - 1));
  const curves = scoreVsDistance(HEAD_DIM, MAX_DISTANCE, numHeads, ctx.settings.seed, head);
  const series = (label: string, colour: string, ys: number[]) => ({
    label,
    colour,
    points: curves.distances.map((d, i) => [d, ys[i]!] as const),
  });
  return [
    h(
      'p',
      { class: 'note' },
      `One random vector of ${HEAD_DIM} used as both query and key, the query d positions after the key, scored q·k/√${HEAD_DIM}: without positions nothing changes; added sinusoids and RoPE make the score depend on distance; ALiBi subtracts slope·d (head ${head}, the same slope as above${ctx.settings.causal ? '' : '; the bidirectional form gives the same for a key d before or after'}).`,
    ),
    lineChart(
      [
        series('none', '#888', curves.none),
        series('sinusoidal', '#2ca02c', curves.sinusoidal),
        series('RoPE', '#1f77b4', curves.rope),
        series(`ALiBi head ${head}`, '#d62728', curves.alibi),
      ],
      { xLabel: 'distance d (positions)', yLabel: 'q·k/√d', name: 'distance' },
    ),
  ];
}

function ropeCircle(points: readonly [number, number][], labels: string[]): SVGSVGElement {
  const size = 240;
  const radius = Math.max(...points.map(([x, y]) => Math.hypot(x, y)), 1e-6);
  const at = ([x, y]: readonly [number, number]) =>
    [size / 2 + (x / radius) * (size / 2 - 30), size / 2 - (y / radius) * (size / 2 - 30)] as const;
  const svg = s('svg', { width: size, height: size, class: 'rope', 'data-name': 'rope-pair' });
  svg.append(
    s('circle', { cx: size / 2, cy: size / 2, r: size / 2 - 30, fill: 'none', stroke: '#ddd' }),
    s('text', { x: size - 4, y: size / 2 - 4, 'text-anchor': 'end', class: 'tick' }, 'x_i'),
    s('text', { x: size / 2 + 4, y: 12, class: 'tick' }, 'x_{i+d/2}'),
  );
  const numbered: [number, number][] = [];
  points.forEach((p, pos) => {
    const [x, y] = at(p);
    svg.append(
      s('line', {
        x1: size / 2,
        y1: size / 2,
        x2: x,
        y2: y,
        stroke: `hsl(${210 + pos * 8}, 70%, ${35 + pos * 2}%)`,
      }),
      s(
        'circle',
        {
          cx: x,
          cy: y,
          r: 3,
          fill: '#1f77b4',
          'data-pos': pos,
          'data-x': String(p[0]),
          'data-y': String(p[1]),
        },
        s('title', {}, labels[pos] ?? String(pos)),
      ),
    );
    // Number a point only where it does not crowd a number already drawn.
    if (numbered.every(([nx, ny]) => Math.hypot(nx - x, ny - y) > 14)) {
      numbered.push([x, y]);
      svg.append(s('text', { x: x + 4, y: y - 4, class: 'label' }, String(pos)));
    }
  });
  return svg;
}
