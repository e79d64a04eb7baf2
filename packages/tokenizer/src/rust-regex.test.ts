import { describe, expect, test } from 'vitest';
import { compileRustPattern, rustPatternToJs } from './index.js';

const pieces = (pattern: string, text: string): string[] =>
  [...text.matchAll(compileRustPattern(pattern))].map((m) => m[0]);

describe('Rust regex semantics in JS', () => {
  test('\\s is Unicode White_Space: U+0085 yes, U+FEFF no', () => {
    expect(pieces('\\s+', 'a\u0085b')).toEqual(['\u0085']);
    expect(pieces('\\s+', 'a\ufeffb')).toEqual([]);
    expect(pieces('\\S+', 'a\ufeffb\u0085c')).toEqual(['a\ufeffb', 'c']);
    expect(pieces('[^\\s]+', ' \ufeff ')).toEqual(['\ufeff']);
  });

  test('(?i:...) uses simple case folding, U+017F and U+212A included', () => {
    expect(pieces("(?i:'s|'k)", "'s 'S '\u017f 'k '\u212a 'x")).toEqual([
      "'s",
      "'S",
      "'\u017f",
      "'k",
      "'\u212a",
    ]);
    expect(pieces('(?i:[sd])', 'SD\u017fx')).toEqual(['S', 'D', '\u017f']);
  });

  test('\\p classes are pinned to Unicode 16: a Unicode 17 ideograph is not a letter', () => {
    expect(pieces('\\p{L}+', 'a\u{2ebf0}b')).toEqual(['a\u{2ebf0}b']);
    expect(pieces('\\p{L}+', 'a\u{323b0}b')).toEqual(['a', 'b']);
    expect(pieces('\\pN+', 'x42y')).toEqual(['42']);
    expect(pieces('\\P{L}+', 'ab12cd')).toEqual(['12']);
  });

  test('possessive quantifiers do not give back', () => {
    // Greedy backtracks to let the final `a` match; possessive cannot.
    expect(pieces('a+a', 'aaa')).toEqual(['aaa']);
    expect(pieces('a++a', 'aaa')).toEqual([]);
    expect(pieces('(?:ab)*+b', 'ababb')).toEqual(['ababb']);
    expect(pieces('\\s++$|\\s', '  x  ')).toEqual([' ', ' ', '  ']);
    expect(rustPatternToJs('\\p{N}{1,3}+')).toMatch(/^\(\?=\(/);
  });

  test('unsupported syntax is named', () => {
    expect(() => compileRustPattern('(?x)a')).toThrow(/inline flags/);
    expect(() => compileRustPattern('[a')).toThrow(/unterminated/);
    expect(() => compileRustPattern('a)')).toThrow(/unbalanced/);
  });
});
