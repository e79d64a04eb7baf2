import { ENCODINGS } from '../model/tokens.js';
import { h } from '../ui/dom.js';
import type { ViewContext } from './context.js';

/** Text in, tokens out: the sentence with each token's span, and a table of ids and offsets. */
export function tokensView(ctx: ViewContext): HTMLElement {
  const { tokens } = ctx.analysis;
  const text = ctx.settings.text;
  const select = h(
    'select',
    {
      id: 'encoding',
      onchange: (e: Event) => ctx.update({ encoding: (e.target as HTMLSelectElement).value }),
    },
    ...ENCODINGS.map((name) =>
      h('option', { value: name, selected: name === ctx.settings.encoding }, name),
    ),
  );
  const spans = h('p', { class: 'token-text' });
  let cursor = 0;
  tokens.forEach((t, i) => {
    if (t.start > cursor) spans.append(text.slice(cursor, t.start));
    // Byte-level tokens inside one character share its span; show the character once.
    const shown = t.start >= cursor ? text.slice(t.start, t.end) : '';
    spans.append(h('span', { class: `tok c${i % 6}`, title: `#${i} id ${t.id}` }, shown));
    cursor = Math.max(cursor, t.end);
  });
  if (cursor < text.length) spans.append(text.slice(cursor));
  const table = h(
    'table',
    { class: 'tokens', 'data-testid': 'token-table' },
    h('tr', {}, h('th', {}, '#'), h('th', {}, 'token'), h('th', {}, 'id'), h('th', {}, 'offsets')),
    ...tokens.map((t, i) =>
      h(
        'tr',
        { 'data-id': t.id, 'data-start': t.start, 'data-end': t.end },
        h('td', {}, i),
        h('td', {}, h('code', {}, JSON.stringify(t.text))),
        h('td', { class: 'id' }, t.id),
        h('td', {}, `[${t.start}, ${t.end})`),
      ),
    ),
  );
  return h(
    'section',
    {},
    h('h2', {}, 'Text in, tokens out'),
    h('label', {}, 'Encoding ', select),
    h('p', { class: 'note' }, `${tokens.length} tokens. Each coloured span is one token.`),
    spans,
    table,
  );
}
