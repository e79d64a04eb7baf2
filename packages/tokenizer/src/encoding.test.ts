import { describe, expect, test } from 'vitest';
import { encodingForModel, encodingNameForModel, getEncoding, TokenizerError } from './index.js';

describe('Encoding behaviour beyond id parity', () => {
  test('a run of identical characters encodes in near-linear time', async () => {
    const enc = await getEncoding('cl100k_base');
    // Warm up the regex and the merge code first, so the timings compare like with like.
    enc.encodeOrdinary('a'.repeat(1000));
    const time = (n: number): number => {
      const t0 = performance.now();
      const ids = enc.encodeOrdinary('a'.repeat(n));
      expect(enc.decode(ids)).toHaveLength(n);
      return performance.now() - t0;
    };
    // Best of a few runs, so a busy machine does not fake a quadratic ratio.
    const small = Math.min(time(50_000), time(50_000), time(50_000));
    const big = Math.min(time(400_000), time(400_000));
    // 8x the input: quadratic would be 64x; n log n with noise stays well under 40x.
    expect(big).toBeLessThan(Math.max(small, 5) * 40);
    expect(big).toBeLessThan(5000);
    // Other long single pre-tokens: whitespace, newlines, punctuation, CJK, emoji.
    for (const unit of [' ', '\n', '!', '日', '😀', '\u0085']) {
      const text = unit.repeat(200_000 / unit.length);
      const t0 = performance.now();
      expect(enc.decode(enc.encodeOrdinary(text))).toBe(text);
      expect([unit, performance.now() - t0 < 4000]).toEqual([unit, true]);
    }
  });

  test('encodeWithOffsets gives UTF-16 spans that cover each token', async () => {
    const enc = await getEncoding('o200k_base');
    const text = 'héllo 👍🏽 世界<|endoftext|>\ud800x';
    const spans = enc.encodeWithOffsets(text, { allowedSpecial: 'all' });
    expect(spans.map((s) => s.id)).toEqual(enc.encode(text, { allowedSpecial: 'all' }));
    const special = spans.find((s) => s.id === 199999)!;
    expect(text.slice(special.start, special.end)).toBe('<|endoftext|>');
    for (const s of spans) {
      expect(s.start).toBeLessThan(s.end);
      const piece = enc.decode([s.id]);
      // Whole-character tokens decode to exactly their span (lone surrogate shows as U+FFFD).
      if (!piece.includes('\ufffd')) expect(text.slice(s.start, s.end)).toBe(piece);
    }
    expect(spans.at(-1)!.end).toBe(text.length);
  });

  test('the stream decoder never splits a UTF-8 sequence', async () => {
    const enc = await getEncoding('cl100k_base');
    const text = '🤖 writes 日本語 and 👨‍👩‍👧 emoji';
    const ids = enc.encode(text);
    const dec = enc.streamDecoder();
    let out = '';
    for (const id of ids) {
      const chunk = dec.write(id);
      expect(chunk).not.toContain('\ufffd');
      out += chunk;
    }
    out += dec.end();
    expect(out).toBe(text);
    // A dangling partial character is flushed as U+FFFD at the end.
    const partial = enc.streamDecoder();
    const robot = enc.encode('🤖');
    expect(robot.length).toBeGreaterThan(1);
    expect(partial.write(robot.slice(0, 1))).toBe('');
    expect(partial.end()).toBe('\ufffd');
  });

  test('special-token rules and errors', async () => {
    const enc = await getEncoding('cl100k_base');
    expect(() => enc.encode('x <|endoftext|>')).toThrow(TokenizerError);
    expect(() => enc.encode('x <|endoftext|>')).toThrow(/<\|endoftext\|>/);
    expect(enc.encode('<|endoftext|>', { allowedSpecial: ['<|endoftext|>'] })).toEqual([100257]);
    expect(() => enc.encode('hi', { allowedSpecial: ['<|nope|>'] })).toThrow(/not a special token/);
    expect(enc.encodeOrdinary('<|endoftext|>')).toEqual(
      enc.encode('<|endoftext|>', { disallowedSpecial: [] }),
    );
    expect(() => enc.decode([100256])).toThrow(/id 100256/);
    expect(() => enc.decode([-1])).toThrow(TokenizerError);
    expect(() => enc.decode([1e9])).toThrow(/not a token/);
    expect(enc.countTokens('hello world')).toBe(2);
    expect(enc.encodeBatch(['a', 'b c'])).toEqual([enc.encode('a'), enc.encode('b c')]);
    await expect(getEncoding('nope')).rejects.toThrow(/unknown encoding "nope"/);
  });

  test('model names map to their encodings, and getEncoding returns one instance', async () => {
    expect(encodingNameForModel('gpt-4o-mini')).toBe('o200k_base');
    expect(encodingNameForModel('gpt-4-0613')).toBe('cl100k_base');
    expect(encodingNameForModel('text-davinci-edit-001')).toBe('p50k_edit');
    expect(encodingNameForModel('text-davinci-003')).toBe('p50k_base');
    expect(encodingNameForModel('gpt-oss-120b')).toBe('o200k_harmony');
    expect(() => encodingNameForModel('llama-3')).toThrow(/no known encoding/);
    expect(await encodingForModel('gpt-3.5-turbo')).toBe(await getEncoding('cl100k_base'));
  });

  test('o200k_harmony shares o200k_base ranks and adds the harmony specials', async () => {
    const harmony = await getEncoding('o200k_harmony');
    const base = await getEncoding('o200k_base');
    const text = 'Harmony shares the o200k vocabulary.';
    expect(harmony.encodeOrdinary(text)).toEqual(base.encodeOrdinary(text));
    const chat =
      '<|start|>user<|message|>hi<|end|><|start|>assistant<|channel|>final<|message|>ok<|return|>';
    const ids = harmony.encode(chat, { allowedSpecial: 'all' });
    expect(ids.filter((id) => id >= 199998)).toEqual([
      200006, 200008, 200007, 200006, 200005, 200008, 200002,
    ]);
    expect(harmony.decode(ids)).toBe(chat);
    expect(
      harmony.encode('<|call|><|constrain|><|startoftext|><|reserved_201087|>', {
        allowedSpecial: 'all',
      }),
    ).toEqual([200012, 200003, 199998, 201087]);
    expect(harmony.nVocab).toBe(201088);
    expect(harmony.decode([200018])).toBe('<|endofprompt|>');
  });
});
