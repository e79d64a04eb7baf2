// @qkv/tokenizer: tiktoken-exact byte-level BPE, Hugging Face tokenizer.json, and a BPE trainer.

export { Encoding, type EncodingSpec, type TokenSpan } from './encoding.js';
export {
  ENCODING_NAMES,
  type EncodingName,
  encodingForModel,
  encodingNameForModel,
  getEncoding,
} from './encodings.js';
export { fail, TokenizerError } from './errors.js';
export { type HfEncodeOptions, type HfEncoding, HfTokenizer } from './hf/hf-tokenizer.js';
export {
  parseCompactRanks,
  parseTiktokenFile,
  type RankTable,
  rankTableFromTokens,
} from './rank-data.js';
export {
  type CharTables,
  compileRustPattern,
  escapeRegExp,
  RUST_WHITESPACE,
  rustPatternToJs,
} from './rust-regex.js';
export type { EncodeOptions, SpecialSet } from './special-tokens.js';
export { StreamDecoder } from './stream-decoder.js';
export {
  type BpeMerge,
  DEFAULT_TRAIN_PATTERN,
  type TrainBpeOptions,
  type TrainedBpe,
  trainBpe,
} from './train-bpe.js';
