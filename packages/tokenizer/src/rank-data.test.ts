import { describe, expect, test } from 'vitest';
import { Encoding, parseCompactRanks, parseTiktokenFile, TokenizerError } from './index.js';

const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
const byteTokens = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));

describe('rank data parsing', () => {
  test('a .tiktoken file round-trips and drives an encoding', () => {
    const tokens = [...byteTokens, 'ab', 'abc', ' a'];
    const file = `${tokens.map((t, i) => `${b64(t)} ${i}`).join('\n')}\n`;
    const ranks = parseTiktokenFile(file);
    expect(ranks.size).toBe(259);
    const enc = new Encoding({
      name: 'tiny',
      patStr: ' ?\\p{L}+|\\s+',
      ranks,
      specialTokens: { '<s>': 259 },
    });
    // " ab": "ab" (256) outranks " a" (258), so it merges first and " a" never forms.
    expect(enc.encode('abc ab')).toEqual([257, 32, 256]);
    expect(enc.encode('a ab', { allowedSpecial: 'all' })).toEqual([97, 32, 256]);
    expect(enc.decode([257, 258, 98, 259])).toBe('abc ab<s>');
    expect(parseCompactRanks(`! 0 ${tokens.map(b64).join(' ')}`).encoder.get('abc')).toBe(257);
  });

  test('truncated or corrupt rank files give clear errors', () => {
    const good = byteTokens.map((t, i) => `${b64(t)} ${i}`).join('\n');
    expect(() => parseTiktokenFile(`${good}\nYW`)).toThrow(/line 257/);
    expect(() => parseTiktokenFile(`${good}\nYWI= `)).toThrow(TokenizerError);
    expect(() => parseTiktokenFile(`${good}\nYWI= 3`)).toThrow(/rank 3/);
    expect(() => parseTiktokenFile('')).toThrow(/empty/);
    expect(() => parseCompactRanks('! x QQ==')).toThrow(/starting rank/);
    expect(() => parseCompactRanks('! 0 QQ== Q$==')).toThrow(/not base64/);
  });
});
