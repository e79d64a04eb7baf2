import { stackAt } from '../model/matrix.js';
import { alibi, ropePair, scoreVsDistance, sinusoidalMatrix } from '../model/positions.js';
import { fmt, h, s } from '../ui/dom.js';
import { heatmap } from '../ui/heatmap.js';
import { lineChart } from '../ui/line-chart.js';
import type { ViewContext } from './context.js';

const HEAD_DIM = 32;
const TABLE_LENGTH = 48;
const ROPE_POSITIONS = 16;
const ALIBI_N = 16;
const MAX_DISTANCE = 40;

/**
 * Four ways to put positions into attention, each computed by @qkv/positional: the
 * sinusoidal table, RoPE's rotation of one dimension pair, ALiBi's distance bias, and what
 * each does to a query-key score as the distance grows.
 */
export function positionsView(ctx: ViewContext): HTMLElement {
  const pair = Math.min(ctx.settings.pair, HEAD_DIM / 2 - 1);
  const numHeads = ctx.settings.numHeads;
  const head = Math.max(0, Math.min(ctx.settings.head, numHeads - 1));
  const table = sinusoidalMatrix(TABLE_LENGTH, HEAD_DIM);
  const rope = ropePair(HEAD_DIM, pair, ROPE_POSITIONS, ctx.settings.seed);
  const { slopes, bias } = alibi(numHeads, ALIBI_N);
  const curves = scoreVsDistance(HEAD_DIM, MAX_DISTANCE, numHeads, ctx.settings.seed);
  const series = (label: string, colour: string, ys: number[]) => ({
    label,
    colour,
    points: curves.distances.map((d, i) => [d, ys[i]!] as const),
  });
  const pairSlider = h('input', {
    id: 'rope-pair',
    type: 'range',
    min: 0,
    max: HEAD_DIM / 2 - 1,
    value: pair,
    onchange: (e: Event) => ctx.update({ pair: Number((e.target as HTMLInputElement).value) }),
  });
  return h(
    'section',
    {},
    h('h2', {}, 'Positions'),
    h(
      'p',
      { class: 'note' },
      'Attention by itself ignores order: permute the tokens and each one gets the same output, permuted. Positions have to be put in.',
    ),
    h('h3', {}, 'Sinusoidal table (Vaswani et al. 2017)'),
    h(
      'p',
      { class: 'note' },
      `PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(…), here ${TABLE_LENGTH} positions × d = ${HEAD_DIM}. Early dimensions turn fast, late ones slowly, like the hands of a clock; the table is added to the token vectors.`,
    ),
    heatmap(table, { scale: 'diverging', name: 'sinusoidal', cell: 8 }),
    h('h3', {}, 'RoPE: a rotation per dimension pair (Su et al. 2021)'),
    h(
      'label',
      {},
      `Pair ${pair} of ${HEAD_DIM / 2} `,
      pairSlider,
      h(
        'span',
        { class: 'note', 'data-testid': 'rope-theta', 'data-value': String(rope.invFreq) },
        ` θ = 10000^(-2·${pair}/${HEAD_DIM}) = ${fmt(rope.invFreq, 5)} rad per position (${fmt((rope.invFreq * 180) / Math.PI, 2)}°)`,
      ),
    ),
    ropeCircle(rope.points),
    h(
      'p',
      { class: 'note' },
      'The same vector at positions 0…15: RoPE turns each pair of its query and key by position·θ, so their dot product depends only on how far apart they are.',
    ),
    h('h3', {}, 'ALiBi: a bias that grows with distance (Press et al. 2022)'),
    h(
      'p',
      { class: 'note', 'data-testid': 'alibi-slopes' },
      `Slopes for ${numHeads} heads: ${[...slopes].map((v) => fmt(v, 4)).join(', ')}. Head ${head} adds slope·(j − i) to score(i, j); pair it with a causal mask.`,
    ),
    heatmap(stackAt(bias, head), { scale: 'diverging', name: 'alibi', cell: 14 }),
    h('h3', {}, 'q·k as the distance grows'),
    h(
      'p',
      { class: 'note' },
      `One random vector of ${HEAD_DIM} used as both query and key, the query d positions after the key, scored q·k/√${HEAD_DIM}: without positions nothing changes; added sinusoids and RoPE make the score depend on distance; ALiBi subtracts slope·d (head 0).`,
    ),
    lineChart(
      [
        series('none', '#888', curves.none),
        series('sinusoidal', '#2ca02c', curves.sinusoidal),
        series('RoPE', '#1f77b4', curves.rope),
        series('ALiBi', '#d62728', curves.alibi),
      ],
      { xLabel: 'distance d (positions)', yLabel: 'q·k/√d', name: 'distance' },
    ),
  );
}

function ropeCircle(points: readonly [number, number][]): SVGSVGElement {
  const size = 220;
  const radius = Math.max(...points.map(([x, y]) => Math.hypot(x, y)), 1e-6);
  const at = ([x, y]: readonly [number, number]) =>
    [size / 2 + (x / radius) * (size / 2 - 24), size / 2 - (y / radius) * (size / 2 - 24)] as const;
  const svg = s('svg', { width: size, height: size, class: 'rope', 'data-name': 'rope-pair' });
  svg.append(
    s('circle', { cx: size / 2, cy: size / 2, r: size / 2 - 24, fill: 'none', stroke: '#ddd' }),
  );
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
      s('circle', {
        cx: x,
        cy: y,
        r: 3,
        fill: '#1f77b4',
        'data-pos': pos,
        'data-x': String(p[0]),
        'data-y': String(p[1]),
      }),
      s('text', { x: x + 4, y: y - 4, class: 'label' }, String(pos)),
    );
  });
  return svg;
}
