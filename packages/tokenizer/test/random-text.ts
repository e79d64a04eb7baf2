/**
 * Seeded generators of awkward Unicode text for parity tests: the characters where
 * tokenizers disagree (Rust vs JS whitespace, case folds, marks, ZWJ emoji, lone
 * surrogates, special-token text) mixed with ordinary prose.
 */

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  ' ',
  '  ',
  '\n',
  '\r\n',
  '\t',
  '\u0085',
  '\ufeff',
  '\u00a0',
  '\u2028',
  '\u3000',
  '\u200b',
  '\u000b',
  "'s",
  "'S",
  "'\u017f",
  "'ll",
  "'LL",
  "'re",
  "'Ve",
  "'d",
  "'t",
  "'m",
  "'",
  'K\u212a',
  'the',
  'The',
  'HELLO',
  'camelCase',
  'x',
  '0',
  '123',
  '45678',
  '3.14',
  '1,000',
  '//',
  '/*',
  '=>',
  'é',
  'e\u0301',
  'ß',
  'İ',
  'Σ',
  'ǅ',
  'ﬁ',
  '日本語',
  '中文',
  '한국어',
  'Привет',
  'مرحبا',
  'हिन्दी',
  '👍',
  '👍🏽',
  '👨‍👩‍👧',
  '🇯🇵',
  '❤️',
  '\ud800',
  '\udc00',
  '\udbff\udfff',
  '\u{10ffff}',
  '\u{1f600}',
  '<|endoftext|>',
  '<|fim_prefix|>',
  '<|endofprompt|>',
  '<|',
  '|>',
  '<|endoftext',
  '!!!',
  '...',
  '—',
];

export function randomText(rand: () => number, maxParts: number): string {
  const parts = 1 + Math.floor(rand() * maxParts);
  let s = '';
  for (let i = 0; i < parts; i++) {
    const kind = rand();
    if (kind < 0.55) s += FRAGMENTS[Math.floor(rand() * FRAGMENTS.length)]!;
    else if (kind < 0.75) s += String.fromCharCode(32 + Math.floor(rand() * 95));
    else if (kind < 0.9) s += String.fromCharCode(Math.floor(rand() * 0x10000));
    else s += String.fromCodePoint(0x10000 + Math.floor(rand() * 0x30000));
  }
  return s;
}
