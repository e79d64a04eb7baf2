import { ENCODINGS, hexBytes, isWholeText } from '../model/tokens.js';
import { h } from '../ui/dom.js';
import type { ViewContext } from './context.js';

/**
 * Text in, tokens out: the sentence with each token's span, and a table of ids and offsets;
 * with a loaded model, also how that model's own tokenizer splits the text.
 */
export async function tokensView(ctx: ViewContext): Promise<HTMLElement> {
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
    // Byte-level tokens inside one character share its span: show the character once, with
    // the bytes each piece holds under it.
    const whole = isWholeText(t.bytes);
    const shown = t.start >= cursor ? text.slice(t.start, t.end) : '';
    spans.append(
      h(
        'span',
        { class: `tok c${i % 6}${whole ? '' : ' bytes'}`, title: `#${i} id ${t.id}` },
        shown,
        whole ? null : h('small', { class: 'byte-hex' }, hexBytes(t.bytes)),
      ),
    );
    cursor = Math.max(cursor, t.end);
  });
  if (cursor < text.length) spans.append(text.slice(cursor));
  const table = h(
    'table',
    { class: 'tokens', 'data-testid': 'token-table' },
    h(
      'tr',
      {},
      h('th', {}, '#'),
      h('th', {}, 'token'),
      h('th', {}, 'id'),
      h('th', {}, 'offsets'),
      h('th', {}, 'UTF-8 bytes'),
    ),
    ...tokens.map((t, i) =>
      h(
        'tr',
        { 'data-id': t.id, 'data-start': t.start, 'data-end': t.end },
        h('td', {}, i),
        h('td', {}, h('code', {}, JSON.stringify(t.text))),
        h('td', { class: 'id' }, t.id),
        h('td', {}, `[${t.start}, ${t.end})`),
        h(
          'td',
          { class: isWholeText(t.bytes) ? 'hex' : 'hex partial', 'data-bytes': hexBytes(t.bytes) },
          hexBytes(t.bytes),
          isWholeText(t.bytes) ? '' : ' (part of a character)',
        ),
      ),
    ),
  );
  return h(
    'section',
    {},
    intro(),
    h('h2', {}, 'Text in, tokens out'),
    h('label', {}, 'Encoding ', select),
    h(
      'p',
      { class: 'note' },
      `${tokens.length} tokens. Each coloured span is one token; a character split over several byte-level tokens (an emoji, say) shows under it the UTF-8 bytes each piece holds.`,
    ),
    spans,
    table,
    ctx.model.trained ? await modelTokens(ctx) : null,
  );
}

/** The loaded model's own tokenization of the text, which the model views use. */
async function modelTokens(ctx: ViewContext): Promise<HTMLElement> {
  const tokens = await ctx.model.tokenize(ctx.settings.text);
  return h(
    'div',
    { 'data-testid': 'model-tokens' },
    h('h3', {}, `The loaded model's tokenizer: ${tokens.length} tokens`),
    h(
      'p',
      { class: 'note' },
      `${ctx.model.label} reads the text with its own tokenizer.json; the Heads, Model and Next token views use these tokens.`,
    ),
    h(
      'p',
      { class: 'token-text' },
      ...tokens.map((t, i) =>
        h('span', { class: `tok c${i % 6}`, title: `#${i} id ${t.id}`, 'data-id': t.id }, t.text),
      ),
    ),
  );
}

/** What the explorer is and how to read it, on the landing view. */
function intro(): HTMLElement {
  return h(
    'div',
    { class: 'intro', 'data-testid': 'intro' },
    h(
      'p',
      {},
      h('b', {}, 'Attention'),
      ' lets each token of a text look at the others and take in a weighted mix of what they hold: every token asks a question (its query), every token offers a label (its key) and content (its value); a softmax of query·key scores sets the weights. This is the step at the heart of every modern language model.',
    ),
    h(
      'p',
      {},
      'Type a sentence above and walk the tabs: how the text becomes tokens, one query searching the keys, several heads at once, what masks save and cost, and how word order gets in. Everything is computed in your browser, on WebGPU when there is one.',
    ),
  );
}
