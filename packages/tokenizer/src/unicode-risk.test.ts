import { describe, expect, test } from 'vitest';
import { UNICODE_CLASSES } from './unicode-classes.js';
import { coveredByRiskCheck, needsPinnedTables } from './unicode-risk.js';

describe('choosing between the engine and the pinned Unicode tables', () => {
  test('Latin-1, which the check skips, is classified the same by both', () => {
    for (const name of ['L', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M', 'N']) {
      const pinned = new RegExp(`[${UNICODE_CLASSES[name]}]`, 'u');
      const native = new RegExp(`\\p{${name}}`, 'u');
      for (let cp = 0; cp < 0x100; cp++) {
        const ch = String.fromCharCode(cp);
        expect([cp, name, pinned.test(ch)]).toEqual([cp, name, native.test(ch)]);
      }
    }
  });

  test('a character whose class differs sends the text to the pinned tables', () => {
    // Every code point where this engine disagrees with Unicode 16.0 must be flagged.
    const letter16 = new RegExp(`[${UNICODE_CLASSES.L}]`, 'u');
    for (let cp = 0x100; cp < 0x110000; cp += 7) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (letter16.test(ch) !== /\p{L}/u.test(ch))
        expect([cp, needsPinnedTables(ch)]).toEqual([cp, true]);
    }
    expect(needsPinnedTables('plain ascii, 日本語, émoji 👍🏽')).toBe(false);
    if (/\p{L}/u.test('\u{323b0}')) expect(needsPinnedTables('new in 17: \u{323b0}')).toBe(true);
  });

  test('patterns with classes the check does not cover always use the pinned tables', () => {
    expect(coveredByRiskCheck("'s|\\p{L}+|\\pN|[^\\s\\p{Lu}]+")).toBe(true);
    expect(coveredByRiskCheck('\\p{P}+')).toBe(false);
    expect(coveredByRiskCheck('\\w+')).toBe(false);
    expect(coveredByRiskCheck('\\p{Han}')).toBe(false);
  });
});
