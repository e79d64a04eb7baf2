import { actionButton } from '../ui/action-button.js';
import { fmt, h } from '../ui/dom.js';
import type { ViewContext } from './context.js';

const TOP_K = 10;

/** A token's text, or what it is when it holds only part of a UTF-8 character. */
function shownText(text: string): string {
  return text.includes('\uFFFD') ? '‹part of a character›' : JSON.stringify(text);
}

/**
 * What a language model predicts: the top-k next tokens for the text with their
 * probabilities, and greedy generation that streams token by token through the KV cache.
 */
export async function nextTokenView(ctx: ViewContext): Promise<HTMLElement> {
  const model = ctx.model;
  const title = h('h2', {}, 'Next token');
  if (!model.nextTokens || !model.generate) {
    return h(
      'section',
      {},
      title,
      h(
        'p',
        { class: 'note', 'data-testid': 'no-lm' },
        `${model.label} is not a language model (one attention layer, or an encoder), so it predicts nothing. Load GPT-2 small above, or a causal language model from files, to see its next-token probabilities and let it write.`,
      ),
    );
  }
  const tokens = await model.tokenize(ctx.settings.text);
  const ids = tokens.map((t) => t.id);
  const top = await model.nextTokens(ids, TOP_K);
  const table = h(
    'table',
    { class: 'next', 'data-testid': 'next-table' },
    h(
      'tr',
      {},
      h('th', {}, '#'),
      h('th', {}, 'token'),
      h('th', {}, 'id'),
      h('th', {}, 'probability'),
    ),
    ...top.map((t, i) =>
      h(
        'tr',
        { 'data-id': t.id },
        h('td', { class: 'num' }, i + 1),
        h('td', {}, h('code', {}, shownText(t.text))),
        h('td', { class: 'num' }, t.id),
        h(
          'td',
          { class: 'num weight', 'data-value': String(t.probability) },
          h('span', { class: 'bar', style: `width:${(t.probability * 100).toFixed(1)}%` }),
          fmt(t.probability, 4),
        ),
      ),
    ),
  );
  const count = h('input', {
    id: 'new-tokens',
    type: 'number',
    min: 1,
    max: 200,
    value: 20,
    style: 'width:4em',
  });
  const written = h('span', { class: 'generated', 'data-testid': 'generated' });
  const status = h('span', { class: 'note', 'data-testid': 'generate-status' });
  const go = actionButton(
    'generate',
    { id: 'generate' },
    status,
    { running: 'writing…', failed: 'Generation failed' },
    async () => {
      written.replaceChildren();
      written.removeAttribute('data-ids');
      const started = performance.now();
      const made = await model.generate!(ids, Number(count.value), (t) => {
        written.append(h('span', { class: 'gen-token', 'data-id': t.id }, t.text));
      });
      const seconds = (performance.now() - started) / 1000;
      written.setAttribute('data-ids', made.join(','));
      return `${made.length} tokens in ${fmt(seconds, 1)} s, ${model.decoding ?? 'greedy'}.`;
    },
  );
  return h(
    'section',
    {},
    title,
    h('p', { class: 'note', 'data-testid': 'model-label' }, model.label),
    h(
      'p',
      { class: 'note' },
      `The ${TOP_K} most likely tokens to follow your ${tokens.length}-token text: the softmax of the last position's logits.`,
    ),
    table,
    h('h3', {}, 'Let it write'),
    h('div', { class: 'row' }, h('label', {}, 'New tokens ', count), go, status),
    h('p', { class: 'gen-text' }, h('span', { class: 'prompt' }, ctx.settings.text), written),
  );
}
