import { readFileSync } from 'node:fs';
import { get_encoding, type Tiktoken, type TiktokenEncoding } from 'tiktoken';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Encoding, getEncoding } from '../src/index.js';
import { mulberry32, randomText } from './random-text.js';

// Parity with the `tiktoken` npm package, the wasm build of OpenAI's Rust core.
const NAMES: TiktokenEncoding[] = [
  'gpt2',
  'r50k_base',
  'p50k_base',
  'p50k_edit',
  'cl100k_base',
  'o200k_base',
];
const GENERATED = 4000;
const corpus = readFileSync(new URL('./corpus.txt', import.meta.url), 'utf8').replace(
  /\\u([0-9a-f]{4})/g,
  (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)),
);

function refThrows(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch {
    return true;
  }
}

describe.each(NAMES)('%s matches tiktoken', (name) => {
  let enc: Encoding;
  let ref: Tiktoken;
  beforeAll(async () => {
    enc = await getEncoding(name);
    ref = get_encoding(name);
  });
  afterAll(() => ref.free());

  test('corpus, line by line and whole', () => {
    for (const text of [corpus, ...corpus.split('\n')]) {
      expect(enc.encodeOrdinary(text)).toEqual(Array.from(ref.encode_ordinary(text)));
    }
    expect(enc.decode(enc.encodeOrdinary(corpus))).toBe(corpus);
  });

  test(`${GENERATED} generated strings: ids, specials, round trip`, () => {
    const rand = mulberry32(0x5eed + name.length);
    for (let i = 0; i < GENERATED; i++) {
      const text = randomText(rand, 24);
      const ids = enc.encodeOrdinary(text);
      const expected = Array.from(ref.encode_ordinary(text));
      if (ids.join() !== expected.join()) expect({ text, ids }).toEqual({ text, ids: expected });
      const withSpecial = enc.encode(text, { allowedSpecial: 'all' });
      const expectedSpecial = Array.from(ref.encode(text, 'all'));
      if (withSpecial.join() !== expectedSpecial.join()) {
        expect({ text, withSpecial }).toEqual({ text, withSpecial: expectedSpecial });
      }
      // Default options throw exactly when tiktoken does (special text present).
      const ours = refThrows(() => enc.encode(text));
      if (ours !== refThrows(() => ref.encode(text)))
        expect({ text, ours }).toEqual({ text, ours: !ours });
      // Lone surrogates are replaced before encoding, so the round trip is of the well-formed text.
      const wellFormed = text.replace(
        /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
        '\ufffd',
      );
      if (enc.decode(ids) !== wellFormed) expect(enc.decode(ids)).toBe(wellFormed);
    }
  });

  test('long mixed texts and random special-token subsets', () => {
    const rand = mulberry32(0xc0ffee + name.length);
    const specials = [...enc.specialTokens.keys()];
    for (let i = 0; i < 60; i++) {
      let text = '';
      for (let k = 0; k < 40; k++) text += randomText(rand, 24);
      const allowed = specials.filter(() => rand() < 0.5);
      const ids = enc.encode(text, { allowedSpecial: allowed, disallowedSpecial: [] });
      const expectedIds = Array.from(ref.encode(text, allowed, []));
      if (ids.join() !== expectedIds.join())
        expect({ text, ids }).toEqual({ text, ids: expectedIds });
    }
  });

  test('mostly-ASCII text with scattered non-ASCII characters', () => {
    // Exercises the cuts between ASCII and non-ASCII chunks (ascii-chunks.ts).
    const rand = mulberry32(0xa5c11 + name.length);
    const odd = ['\u0085', '\u00a0', 'é', '日', '’', '\u3000', '👍', '\u0301', 'Ω', '\u2028'];
    const ascii = [...corpus].filter((c) => c.charCodeAt(0) < 0x80).join('');
    for (let i = 0; i < 200; i++) {
      const start = Math.floor(rand() * (ascii.length - 400));
      const chars = [...ascii.slice(start, start + 400)];
      for (let k = 0; k < 4; k++)
        chars[Math.floor(rand() * chars.length)] = odd[Math.floor(rand() * odd.length)]!;
      const text = chars.join('');
      const ids = enc.encodeOrdinary(text);
      const expectedIds = Array.from(ref.encode_ordinary(text));
      if (ids.join() !== expectedIds.join())
        expect({ text, ids }).toEqual({ text, ids: expectedIds });
    }
  });

  test('specials allowed one at a time, and disallowedSpecial: []', () => {
    const specials = [...enc.specialTokens.keys()];
    const text = `a${specials.join(' x ')}b<|endoftext|>`;
    for (const s of specials) {
      const others = specials.filter((t) => t !== s);
      expect(enc.encode(text, { allowedSpecial: [s], disallowedSpecial: [] })).toEqual(
        Array.from(ref.encode(text, [s], [])),
      );
      if (others.length > 0) {
        expect(() => enc.encode(text, { allowedSpecial: [s] })).toThrow(/special token/);
      }
    }
    expect(enc.encode(text, { disallowedSpecial: [] })).toEqual(
      Array.from(ref.encode_ordinary(text)),
    );
  });
});
