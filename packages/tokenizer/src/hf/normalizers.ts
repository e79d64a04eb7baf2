import { fail } from '../errors.js';
import { asComponent, type Component, patternOf, unsupported } from './json.js';
import { trimEnd, trimStart, WHITESPACE_CHAR } from './whitespace.js';

export type Normalizer = (text: string) => string;

const COMBINING = /\p{Mn}/gu;
// BERT's "Chinese character" ranges (the CJK Unified Ideographs blocks, BERT's tokenization.py).
const CJK =
  /[\u4e00-\u9fff\u3400-\u4dbf\u{20000}-\u{2a6df}\u{2a700}-\u{2b73f}\u{2b740}-\u{2b81f}\u{2b820}-\u{2ceaf}\uf900-\ufaff\u{2f800}-\u{2fa1f}]/gu;
// tokenizers' BERT `is_control`: every "other" category (Cc, Cf, Co, Cn; Cs cannot occur
// in Rust strings) except tab, newline and carriage return; NUL and U+FFFD go too.
const BERT_CONTROL = /[\0\ufffd]|(?![\t\n\r])[\p{Cc}\p{Cf}\p{Co}\p{Cn}]/gu;

/**
 * Lowercases character by character, as Rust's `char::to_lowercase`: JS's toLowerCase on
 * a whole string applies the final-sigma rule (word-final Σ to ς), which tokenizers does not.
 */
function lowercase(text: string): string {
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

function bertNormalizer(c: Component): Normalizer {
  const clean = c.clean_text !== false;
  const chinese = c.handle_chinese_chars !== false;
  const lower = c.lowercase !== false;
  // strip_accents: null means "follow lowercase", as in BERT's uncased models.
  const strip = (c.strip_accents as boolean | null | undefined) ?? lower;
  return (text) => {
    if (clean) text = text.replace(BERT_CONTROL, '').replace(WHITESPACE_CHAR, ' ');
    if (chinese) text = text.replace(CJK, (ch) => ` ${ch} `);
    if (strip) text = text.normalize('NFD').replace(COMBINING, '');
    if (lower) text = lowercase(text);
    return text;
  };
}

export function createNormalizer(
  value: unknown,
  compile: (source: string) => RegExp,
): Normalizer | undefined {
  if (value === null || value === undefined) return undefined;
  const where = 'tokenizer.json normalizer';
  const c = asComponent(where, value);
  switch (c.type) {
    case 'Sequence': {
      const list = ((c.normalizers as unknown[]) ?? []).map((n) => createNormalizer(n, compile));
      return (text) => list.reduce((t, n) => (n ? n(t) : t), text);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = c.type;
      return (text) => text.normalize(form);
    }
    case 'Lowercase':
      return lowercase;
    case 'Strip': {
      const left = c.strip_left !== false;
      const right = c.strip_right !== false;
      return (text) => {
        if (left) text = trimStart(text);
        return right ? trimEnd(text) : text;
      };
    }
    case 'StripAccents':
      return (text) => text.replace(COMBINING, '');
    case 'Replace': {
      const re = patternOf(where, c.pattern, compile);
      const content = String(c.content ?? '');
      return (text) => text.replace(re, () => content);
    }
    case 'Prepend': {
      const prepend = String(c.prepend ?? '');
      return (text) => (text === '' ? text : prepend + text);
    }
    case 'BertNormalizer':
      return bertNormalizer(c);
    case 'Precompiled':
      // sentencepiece's compiled normalization table; an empty one is the identity.
      if (c.precompiled_charsmap === null || c.precompiled_charsmap === '') return undefined;
      return fail(where, 'Precompiled normalizer with a charsmap is not supported');
    default:
      return unsupported(where, 'normalizer', c);
  }
}
