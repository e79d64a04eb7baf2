import { UNICODE_CLASSES } from './unicode-classes.js';

/**
 * Whether text may pre-tokenize differently under the engine's own Unicode tables than
 * under the pinned Unicode 16.0 ones. The patterns only ask about letters, marks and
 * numbers, so a character is safe when it belongs to the same of those classes under both
 * tables; each character is checked once and remembered. Unicode does move characters
 * (U+0295 went from Ll to Lo in 17.0) and adds new ones, so this is checked, not assumed.
 */

const CLASSES = ['L', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M', 'N'];

/**
 * Whether every `\p{...}` / `\P{...}` class in a Rust-syntax pattern is one this check
 * covers; a pattern using others (or `\w`, `\d`) must always use the pinned tables.
 */
export function coveredByRiskCheck(pattern: string): boolean {
  if (/\\[wWdD]/.test(pattern)) return false;
  for (const m of pattern.matchAll(/\\[pP](?:\{([^}]*)\}|(.))/g)) {
    if (!CLASSES.includes(m[1] ?? m[2]!)) return false;
  }
  return true;
}
let pinned: RegExp[] | undefined;
let native: RegExp[] | undefined;
/** Per code point: 0 not yet known, 1 safe, 2 differs. Latin-1 is stable and skipped. */
let state: Uint8Array | undefined;

function differs(cp: number): boolean {
  pinned ??= CLASSES.map((c) => new RegExp(`[${UNICODE_CLASSES[c]}]`, 'u'));
  native ??= CLASSES.map((c) => new RegExp(`\\p{${c}}`, 'u'));
  const ch = String.fromCodePoint(cp);
  for (let k = 0; k < CLASSES.length; k++) {
    if (pinned[k]!.test(ch) !== native[k]!.test(ch)) return true;
  }
  return false;
}

export function needsPinnedTables(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x100) continue;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = ((cp - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
      }
    }
    state ??= new Uint8Array(0x110000);
    let s = state[cp]!;
    if (s === 0) {
      s = differs(cp) ? 2 : 1;
      state[cp] = s;
    }
    if (s === 2) return true;
  }
  return false;
}
