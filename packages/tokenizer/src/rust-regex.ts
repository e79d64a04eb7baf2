import { fail } from './errors.js';
import { UNICODE_CLASS_ALIASES, UNICODE_CLASSES } from './unicode-classes.js';

/**
 * Translates a pre-tokenizer pattern written for Rust's regex / fancy-regex (the flavour
 * tiktoken's `pat_str` and tokenizer.json `Split` patterns use) into an equivalent JS
 * RegExp source for the `u` flag. The differences that change token ids:
 * - `\s` is Unicode White_Space in Rust: it includes U+0085 and excludes U+FEFF, where
 *   JS's `\s` does the opposite; both are spelled out here.
 * - `(?i:...)` scoped flags do not exist in Node 20's RegExp; letters inside are expanded
 *   to their simple case folds, which is Rust's rule (so `s` also matches U+017F, `k` U+212A).
 * - `\p{L}`, `\p{N}` and the other General_Category classes follow each engine's own
 *   Unicode version in JS; here they are spelled out from Unicode 16.0, the
 *   version of tiktoken's Rust tables, so a letter new in a later version is not a letter.
 * - Possessive quantifiers (`x++`, `x*+`, `x?+`, `x{n,m}+`) become atomic through the
 *   `(?=(x+))\N` idiom, since JS has no atomic groups.
 */

/** Unicode White_Space (UCD PropList.txt), as a class body. */
export const RUST_WHITESPACE =
  '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Extra simple case folds beyond ASCII upper/lower (UCD CaseFolding.txt, status C/S). */
const EXTRA_FOLDS: Record<string, string> = { s: '\u017f', k: '\u212a' };

function caseVariants(ch: string): string {
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  if (lower === upper) return '';
  return (lower === ch ? upper : lower) + (EXTRA_FOLDS[lower] ?? '');
}

/**
 * Which character tables a translation uses: `pinned` spells out Unicode 16.0 classes
 * (exact on any text); `native` keeps the engine's `\p{...}` (fast, exact on text that
 * `needsPinnedTables` clears); `ascii` keeps only the ASCII members of every class (much
 * faster, exact on ASCII-only text).
 */
export type CharTables = 'pinned' | 'native' | 'ascii';

const ASCII_WHITESPACE = '\\t-\\r ';
const asciiBodies = new Map<string, string>();

/** The ASCII members of a class body, as a class body. */
function asciiOnly(body: string): string {
  let out = asciiBodies.get(body);
  if (out === undefined) {
    const re = new RegExp(`[${body}]`, 'u');
    out = '';
    for (let c = 0; c < 0x80; c++) {
      if (re.test(String.fromCharCode(c))) out += `\\x${c.toString(16).padStart(2, '0')}`;
    }
    asciiBodies.set(body, out);
  }
  return out;
}

/** Rust's \\w and \\d are Unicode-aware (UTS #18 Annex C); JS's are ASCII-only. */
function perlClass(e: string, inClass: boolean, tables: CharTables): string {
  let body =
    e === 'w' || e === 'W'
      ? `\\p{Alphabetic}${UNICODE_CLASSES.M}${UNICODE_CLASSES.Nd}\\p{Pc}\\u200c\\u200d`
      : UNICODE_CLASSES.Nd!;
  if (tables === 'ascii') body = asciiOnly(body);
  if (e === 'w' || e === 'd') return inClass ? body : `[${body}]`;
  if (inClass) fail('rustPatternToJs', `\\${e} inside a character class is not supported`);
  return `[^${body}]`;
}

function unicodeClass(
  where: string,
  name: string,
  negated: boolean,
  inClass: boolean,
  tables: CharTables,
): string {
  const pinned = UNICODE_CLASSES[UNICODE_CLASS_ALIASES[name] ?? name];
  const native = `\\p{${name}}`;
  let body = tables === 'native' ? undefined : pinned;
  if (tables === 'ascii') body = asciiOnly(pinned ?? native);
  // Other properties (scripts, binary properties) keep the engine's own tables.
  if (body === undefined) return `\\${negated ? 'P' : 'p'}{${name}}`;
  if (!negated) return inClass ? body : `[${body}]`;
  if (inClass) fail(where, `\\P{${name}} inside a character class is not supported`);
  return `[^${body}]`;
}

export function rustPatternToJs(pattern: string, tables: CharTables = 'pinned'): string {
  const space = tables === 'ascii' ? ASCII_WHITESPACE : RUST_WHITESPACE;
  const where = 'rustPatternToJs';
  let out = '';
  let inClass = false;
  let groups = 0;
  // For each open group: its output start, and whether it switched on case-insensitivity.
  const open: { start: number; ci: boolean }[] = [];
  let ciDepth = 0;
  let lastAtom = -1;
  let i = 0;
  const atom = (text: string): void => {
    lastAtom = out.length;
    out += text;
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined) fail(where, 'pattern ends with a lone backslash');
      let text: string;
      let len = 2;
      if (e === 'w' || e === 'W' || e === 'd' || e === 'D') text = perlClass(e, inClass, tables);
      else if (e === 's') text = inClass ? space : `[${space}]`;
      else if (e === 'S') {
        if (inClass) fail(where, '\\S inside a character class is not supported');
        text = `[^${space}]`;
      } else if (e === 'p' || e === 'P') {
        const braced = pattern[i + 2] === '{';
        const close = braced ? pattern.indexOf('}', i) : i + 2;
        if (close < 0) fail(where, `unclosed \\${e}{ at ${i}`);
        const name = braced ? pattern.slice(i + 3, close) : pattern.slice(i + 2, i + 3);
        text = unicodeClass(where, name, e === 'P', inClass, tables);
        len = close + 1 - i;
      } else text = `\\${e}`;
      if (inClass) out += text;
      else atom(text);
      i += len;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += c;
      } else out += ciDepth > 0 && /[a-zA-Z]/.test(c) ? c + caseVariants(c) : c;
      i++;
      continue;
    }
    if (c === '[') {
      lastAtom = out.length;
      inClass = true;
      out += c;
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      i++;
      continue;
    }
    if (c === '(') {
      if (pattern.startsWith('(?i:', i)) {
        open.push({ start: out.length, ci: true });
        ciDepth++;
        out += '(?:';
        i += 4;
        continue;
      }
      if (/^\(\?[a-zA-Z-]+[:)]/.test(pattern.slice(i)) && !pattern.startsWith('(?i:', i)) {
        fail(where, `inline flags ${pattern.slice(i, i + 6)}... are not supported`);
      }
      if (pattern[i + 1] !== '?') groups++;
      open.push({ start: out.length, ci: false });
      out += c;
      i++;
      continue;
    }
    if (c === ')') {
      const g = open.pop();
      if (g === undefined) fail(where, `unbalanced ")" at ${i}`);
      if (g.ci) ciDepth--;
      out += c;
      lastAtom = g.start;
      i++;
      continue;
    }
    if (c === '+' || c === '*' || c === '?' || c === '{') {
      let q = c;
      if (c === '{') {
        const close = pattern.indexOf('}', i);
        if (close < 0) fail(where, `unclosed "{" at ${i}`);
        q = pattern.slice(i, close + 1);
      }
      i += q.length;
      if (pattern[i] === '+') {
        // Possessive: match the greedy repetition once, then forbid backtracking into it.
        if (lastAtom < 0) fail(where, `possessive quantifier without an operand at ${i}`);
        groups++;
        const operand = out.slice(lastAtom);
        out = `${out.slice(0, lastAtom)}(?=(${operand}${q}))\\${groups}`;
        i++;
      } else {
        if (pattern[i] === '?') {
          q += '?';
          i++;
        }
        out += q;
      }
      continue;
    }
    if (ciDepth > 0 && /[a-zA-Z]/.test(c)) {
      const v = caseVariants(c);
      atom(v ? `[${c}${v}]` : c);
    } else atom(c);
    if (c === '|' || c === '^' || c === '$') lastAtom = -1;
    i++;
  }
  if (inClass || open.length > 0) fail(where, 'unterminated class or group');
  return out;
}

/** `s` as a literal inside a RegExp. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A global, Unicode-aware RegExp equivalent to a Rust-flavoured pattern. */
export function compileRustPattern(
  pattern: string,
  tables: CharTables = 'pinned',
  flags = 'gu',
): RegExp {
  const source = rustPatternToJs(pattern, tables);
  try {
    return new RegExp(source, flags);
  } catch (e) {
    return fail('compileRustPattern', `cannot compile ${JSON.stringify(pattern)}: ${e}`);
  }
}
