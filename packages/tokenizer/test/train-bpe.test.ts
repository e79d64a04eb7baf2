import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { compileRustPattern, DEFAULT_TRAIN_PATTERN, trainBpe } from '../src/index.js';
import { mulberry32, randomText } from './random-text.js';

const corpus = readFileSync(new URL('./corpus.txt', import.meta.url), 'utf8').repeat(3);

describe('trainBpe', () => {
  test('learns the requested vocabulary, most frequent pair first, and round-trips', () => {
    const seen: number[] = [];
    const { encoding, merges } = trainBpe(corpus, {
      vocabSize: 256 + 120 + 2,
      specialTokens: ['<|bos|>', '<|eos|>'],
      onMerge: (m) => seen.push(m.id),
    });
    expect(merges).toHaveLength(120);
    expect(seen).toEqual(merges.map((m) => m.id));
    expect(encoding.nVocab).toBe(378);
    expect(encoding.encode('<|bos|>hi<|eos|>', { allowedSpecial: 'all' })).toEqual([
      376,
      ...encoding.encodeOrdinary('hi'),
      377,
    ]);

    // The first merge is the most frequent adjacent byte pair inside pre-tokenized words.
    const counts = new Map<string, number>();
    for (const m of corpus.matchAll(compileRustPattern(DEFAULT_TRAIN_PATTERN))) {
      const b = Buffer.from(m[0], 'utf8');
      for (let i = 0; i + 1 < b.length; i++) {
        const k = `${b[i]},${b[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
    const top = Math.max(...counts.values());
    expect(merges[0]!.count).toBe(top);
    expect(counts.get(`${merges[0]!.left},${merges[0]!.right}`)).toBe(top);
    // minFrequency defaults to 2: a pair seen once is never merged.
    expect(merges.every((m) => m.count >= 2)).toBe(true);

    // Trained tokens compress the corpus and decode back exactly, as do unseen strings.
    expect(encoding.encodeOrdinary(corpus).length).toBeLessThan(Buffer.byteLength(corpus) * 0.75);
    const rand = mulberry32(11);
    for (let i = 0; i < 300; i++) {
      const text = randomText(rand, 12).replace(/[\ud800-\udfff]/g, 'x');
      expect(encoding.decode(encoding.encodeOrdinary(text))).toBe(text);
    }
  });

  test('is deterministic, stops at minFrequency, and validates vocabSize', () => {
    const a = trainBpe(['aaab aaab', 'abab'], { vocabSize: 300 });
    const b = trainBpe(['aaab aaab', 'abab'], { vocabSize: 300 });
    expect(a.merges).toEqual(b.merges);
    expect(a.merges.length).toBeLessThan(44);
    expect(() => trainBpe('x', { vocabSize: 100 })).toThrow(/vocabSize/);
    expect(() => trainBpe('x', { vocabSize: 257, specialTokens: ['<a>', '<b>'] })).toThrow(
      /256 \+ 2/,
    );
  });
});
