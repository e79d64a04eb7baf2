import { getEncoding, HfTokenizer, TokenizerError } from '@qkv/tokenizer';
import { describeBadInput, type Row } from './table.js';

const enc = await getEncoding('cl100k_base');

/** A byte-level BPE tokenizer.json with the given vocabulary and merges. */
const bpeJson = (vocab: Record<string, number>, merges: string[]) => ({
  model: { type: 'BPE', vocab, merges },
});
const hf = HfTokenizer.fromJSON(bpeJson({ a: 0, b: 1, ab: 2 }, ['a b']));

// biome-ignore format: one row per line, so adding a case is adding a line
export const tokenizerRows: Row[] = [
  // Encoding (tiktoken)
  ['encode(123)', () => enc.encode(123 as never), TokenizerError, ['cl100k_base.encode', 'text must be a string', 'the number 123']],
  ['encode({})', () => enc.encode({} as never), TokenizerError, ['text must be a string', 'an object']],
  ['encode(null)', () => enc.encode(null as never), TokenizerError, ['text must be a string', 'null']],
  ["encode(['a'])", () => enc.encode(['a'] as never), TokenizerError, ['text must be a string', 'an array of 1']],
  ["encode('a', 'all')", () => enc.encode('a', 'all' as never), TokenizerError, ['options must be an object', 'the string "all"']],
  ["encode: allowedSpecial is one token's string", () => enc.encode('<|endoftext|>', { allowedSpecial: '<|endoftext|>' as never }), TokenizerError, ['allowedSpecial', "'all' or a list of special tokens", 'the string "<|endoftext|>"']],
  ['encode: allowedSpecial names a non-special', () => enc.encode('a', { allowedSpecial: ['<|nope|>'] }), TokenizerError, ['allowedSpecial names "<|nope|>"', 'not a special token']],
  ['encode: text spells a disallowed special token', () => enc.encode('<|endoftext|>'), TokenizerError, ['special token "<|endoftext|>"', 'allowedSpecial']],
  ['encodeOrdinary(42)', () => enc.encodeOrdinary(42 as never), TokenizerError, ['cl100k_base.encodeOrdinary', 'text must be a string', 'the number 42']],
  ['encodeBatch([1, 2])', () => enc.encodeBatch([1, 2] as never), TokenizerError, ['cl100k_base.encodeBatch', 'texts[0] must be a string', 'the number 1']],
  ["encodeBatch('abc')", () => enc.encodeBatch('abc' as never), TokenizerError, ['texts must be an array of strings', 'the string "abc"']],
  ['encodeWithOffsets(5)', () => enc.encodeWithOffsets(5 as never), TokenizerError, ['cl100k_base.encodeWithOffsets', 'text must be a string', 'the number 5']],
  ['countTokens(undefined)', () => enc.countTokens(undefined as never), TokenizerError, ['text must be a string', 'undefined']],
  // Decoding
  ["decode(['15'])", () => enc.decode(['15'] as never), TokenizerError, ['cl100k_base.decode', 'ids[0] must be an integer token id', 'the string "15"']],
  ['decode([100257n])', () => enc.decode([100257n] as never), TokenizerError, ['ids[0] must be an integer token id', 'the bigint 100257n', 'Number(id)']],
  ['decode([1.5])', () => enc.decode([1.5]), TokenizerError, ['ids[0] must be an integer token id', 'the number 1.5']],
  ['decode(null)', () => enc.decode(null as never), TokenizerError, ['ids must be an array of integer token ids', 'null']],
  ["decode('15')", () => enc.decode('15' as never), TokenizerError, ['ids must be an array', 'the string "15"']],
  ['decode([-1])', () => enc.decode([-1]), TokenizerError, ['id -1 (at position 0)', 'not a token', 'vocabulary size']],
  ['decode([1e9])', () => enc.decode([1e9]), TokenizerError, ['id 1000000000', 'not a token']],
  ['streamDecoder write of a string id', () => enc.streamDecoder().write(['15'] as never), TokenizerError, ['ids[0] must be an integer token id', 'the string "15"']],
  // Loading
  ["getEncoding('nope')", () => getEncoding('nope'), TokenizerError, ['nope', 'cl100k_base']],
  // Hugging Face tokenizer.json
  ['HfTokenizer: a merge names a token outside the vocabulary', () => HfTokenizer.fromJSON(bpeJson({ a: 0, b: 1 }, ['a c'])), TokenizerError, ['merge 0', '"c"', 'not in the vocabulary']],
  ['HfTokenizer: a merge result outside the vocabulary', () => HfTokenizer.fromJSON(bpeJson({ a: 0, b: 1 }, ['a b'])), TokenizerError, ['merge 0', '"ab"', 'not in the vocabulary']],
  ['HfTokenizer: no model', () => HfTokenizer.fromJSON({}), TokenizerError, ['no "model"']],
  ['HfTokenizer.encode(7)', () => hf.encode(7 as never), TokenizerError, ['HfTokenizer.encode', 'text must be a string', 'the number 7']],
  ['HfTokenizer.encode: pair is a number', () => hf.encode('a', { pair: 3 as never }), TokenizerError, ['options.pair must be a string', 'the number 3']],
  ["HfTokenizer.decode(['1'])", () => hf.decode(['1'] as never), TokenizerError, ['HfTokenizer.decode', 'ids[0] must be an integer token id', 'the string "1"']],
  ['HfTokenizer.decode([9])', () => hf.decode([9]), TokenizerError, ['id 9 (at position 0)', 'not in the vocabulary']],
];

describeBadInput('@qkv/tokenizer', tokenizerRows);
