import { describe, expect, it } from 'vitest';
import { characterTokens } from './trained-model.js';

describe('characterTokens', () => {
  it('maps a–z to 0–25 (either case), the space to 26 and other characters into 27–31', () => {
    const tokens = characterTokens('Az b.', 32);
    expect(tokens.map((t) => t.id)).toEqual([0, 25, 26, 1, 27 + ('.'.codePointAt(0)! % 5)]);
    expect(tokens.map((t) => t.text)).toEqual(['a', 'z', '␣', 'b', `#${tokens[4]!.id}`]);
    for (const t of characterTokens("didn't 😀 fit?", 32)) {
      expect(t.id).toBeGreaterThanOrEqual(0);
      expect(t.id).toBeLessThan(32);
    }
  });

  it('keeps the first `limit` characters (the model has that many positions)', () => {
    expect(characterTokens('abcdef', 4).map((t) => t.text)).toEqual(['a', 'b', 'c', 'd']);
  });
});
