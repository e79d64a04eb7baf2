import { escapeRegExp } from '../rust-regex.js';
import { byteLevelEncode } from './byte-level.js';
import { asComponent, type Component, patternOf, unsupported } from './json.js';
import { splitWhitespace } from './whitespace.js';

/** Splits each piece into smaller pieces. */
export type PreTokenizer = (pieces: string[]) => string[];

type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

/** Splits `text` on the matches of `re` (global), handling the matches as tokenizers' SplitDelimiterBehavior. */
export function splitBy(text: string, re: RegExp, behavior: Behavior, invert = false): string[] {
  // Segments alternate: [gap, match, gap, match, ..., gap]; with invert the roles swap.
  const parts: { s: string; match: boolean }[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0] === '') {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) parts.push({ s: text.slice(last, m.index), match: invert });
    parts.push({ s: m[0], match: !invert });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ s: text.slice(last), match: invert });
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    switch (behavior) {
      case 'Removed':
        if (!p.match) out.push(p.s);
        break;
      case 'Isolated':
        out.push(p.s);
        break;
      case 'MergedWithPrevious':
        if (p.match && out.length > 0 && !parts[i - 1]!.match) out[out.length - 1] += p.s;
        else out.push(p.s);
        break;
      case 'MergedWithNext':
        // A match opens a piece and the gap after it joins; two matches in a row stay apart.
        if (!p.match && i > 0 && parts[i - 1]!.match) out[out.length - 1] += p.s;
        else out.push(p.s);
        break;
      case 'Contiguous':
        if (p.match && i > 0 && parts[i - 1]!.match) out[out.length - 1] += p.s;
        else out.push(p.s);
        break;
    }
  }
  return out;
}

const GPT2_REGEX =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const PUNCT = /[\p{P}!-/:-@[-`{-~]/gu;

function each(f: (piece: string) => string[]): PreTokenizer {
  return (pieces) => pieces.flatMap(f);
}

export function createPreTokenizer(
  value: unknown,
  compile: (source: string) => RegExp,
): PreTokenizer | undefined {
  if (value === null || value === undefined) return undefined;
  const where = 'tokenizer.json pre_tokenizer';
  const c: Component = asComponent(where, value);
  switch (c.type) {
    case 'Sequence': {
      const list = ((c.pretokenizers as unknown[]) ?? []).map((p) =>
        createPreTokenizer(p, compile),
      );
      return (pieces) => list.reduce((ps, p) => (p ? p(ps) : ps), pieces);
    }
    case 'ByteLevel': {
      const prefixSpace = c.add_prefix_space === true;
      const re = c.use_regex !== false ? compile(GPT2_REGEX) : undefined;
      return (pieces) =>
        pieces.flatMap((piece) => {
          // tokenizers prefixes every piece that reaches it, not only the first.
          if (prefixSpace && !piece.startsWith(' ')) piece = ` ${piece}`;
          const split = re ? splitBy(piece, re, 'Isolated') : [piece];
          return split.map(byteLevelEncode);
        });
    }
    case 'Split': {
      const re = patternOf(where, c.pattern, compile);
      const behavior = c.behavior as Behavior;
      const invert = c.invert === true;
      return each((p) => splitBy(p, re, behavior, invert));
    }
    case 'Whitespace': {
      const re = compile('\\w+|[^\\w\\s]+');
      return each((p) => Array.from(p.matchAll(re), (m) => m[0]));
    }
    case 'WhitespaceSplit':
      return each(splitWhitespace);
    case 'BertPreTokenizer':
      // Whitespace-separated words, then every punctuation character on its own.
      return each((p) => splitWhitespace(p).flatMap((w) => splitBy(w, PUNCT, 'Isolated')));
    case 'Punctuation': {
      const behavior = (c.behavior as Behavior) ?? 'Isolated';
      return each((p) => splitBy(p, PUNCT, behavior));
    }
    case 'Digits': {
      const re = c.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return each((p) => splitBy(p, re, 'Isolated'));
    }
    case 'Metaspace': {
      const replacement = String(c.replacement ?? '\u2581');
      // Older files say add_prefix_space: true/false; newer ones prepend_scheme.
      const scheme =
        (c.prepend_scheme as string) ?? (c.add_prefix_space === false ? 'never' : 'always');
      const split = c.split !== false;
      return (pieces) =>
        pieces.flatMap((piece, i) => {
          let s = piece.replaceAll(' ', replacement);
          if (
            !s.startsWith(replacement) &&
            (scheme === 'always' || (scheme === 'first' && i === 0))
          ) {
            s = replacement + s;
          }
          if (!split) return [s];
          return splitBy(s, new RegExp(escapeRegExp(replacement), 'gu'), 'MergedWithNext');
        });
    }
    default:
      return unsupported(where, 'pre_tokenizer', c);
  }
}
