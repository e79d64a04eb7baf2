import { Encoding } from './encoding.js';
import { fail } from './errors.js';
import { parseCompactRanks, type RankTable } from './rank-data.js';

/**
 * OpenAI's encodings. Patterns and special tokens are tiktoken's (tiktoken_ext/openai_public.py);
 * rank data comes from the `js-tiktoken` package, imported only when an encoding is first asked for.
 */

const GPT2_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const CL100K_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const O200K_PATTERN = [
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
  '\\p{N}{1,3}',
  ' ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*',
  '\\s*[\\r\\n]+',
  '\\s+(?!\\S)',
  '\\s+',
].join('|');

type RankSource = 'gpt2' | 'r50k_base' | 'p50k_base' | 'cl100k_base' | 'o200k_base';

interface EncodingDef {
  ranks: RankSource;
  patStr: string;
  specialTokens: () => Record<string, number>;
}

const ENDOFTEXT_50K = (): Record<string, number> => ({ '<|endoftext|>': 50256 });

const O200K_SPECIAL = (): Record<string, number> => ({
  '<|endoftext|>': 199999,
  '<|endofprompt|>': 200018,
});

function o200kHarmonySpecial(): Record<string, number> {
  const named: Record<string, number> = {
    ...O200K_SPECIAL(),
    '<|startoftext|>': 199998,
    '<|return|>': 200002,
    '<|constrain|>': 200003,
    '<|channel|>': 200005,
    '<|start|>': 200006,
    '<|end|>': 200007,
    '<|message|>': 200008,
    '<|call|>': 200012,
  };
  for (const id of [200000, 200001, 200004, 200009, 200010, 200011]) {
    named[`<|reserved_${id}|>`] = id;
  }
  // tiktoken also names every id in [200013, 201088) <|reserved_ID|>, 200018 included.
  for (let id = 200013; id < 201088; id++) named[`<|reserved_${id}|>`] = id;
  return named;
}

const DEFS: Record<string, EncodingDef> = {
  gpt2: { ranks: 'gpt2', patStr: GPT2_PATTERN, specialTokens: ENDOFTEXT_50K },
  r50k_base: { ranks: 'r50k_base', patStr: GPT2_PATTERN, specialTokens: ENDOFTEXT_50K },
  p50k_base: { ranks: 'p50k_base', patStr: GPT2_PATTERN, specialTokens: ENDOFTEXT_50K },
  p50k_edit: {
    ranks: 'p50k_base',
    patStr: GPT2_PATTERN,
    specialTokens: () => ({
      '<|endoftext|>': 50256,
      '<|fim_prefix|>': 50281,
      '<|fim_middle|>': 50282,
      '<|fim_suffix|>': 50283,
    }),
  },
  cl100k_base: {
    ranks: 'cl100k_base',
    patStr: CL100K_PATTERN,
    specialTokens: () => ({
      '<|endoftext|>': 100257,
      '<|fim_prefix|>': 100258,
      '<|fim_middle|>': 100259,
      '<|fim_suffix|>': 100260,
      '<|endofprompt|>': 100276,
    }),
  },
  o200k_base: { ranks: 'o200k_base', patStr: O200K_PATTERN, specialTokens: O200K_SPECIAL },
  o200k_harmony: { ranks: 'o200k_base', patStr: O200K_PATTERN, specialTokens: o200kHarmonySpecial },
};

export type EncodingName = keyof typeof DEFS;
export const ENCODING_NAMES: readonly string[] = Object.keys(DEFS);

interface CompactRanks {
  default: { bpe_ranks: string };
}

// Literal specifiers so bundlers can split each rank file into its own lazily loaded chunk.
const RANK_LOADERS: Record<RankSource, () => Promise<CompactRanks>> = {
  gpt2: () => import('js-tiktoken/ranks/gpt2'),
  r50k_base: () => import('js-tiktoken/ranks/r50k_base'),
  p50k_base: () => import('js-tiktoken/ranks/p50k_base'),
  cl100k_base: () => import('js-tiktoken/ranks/cl100k_base'),
  o200k_base: () => import('js-tiktoken/ranks/o200k_base'),
};

const rankTables = new Map<RankSource, Promise<RankTable>>();
const encodings = new Map<string, Promise<Encoding>>();

function loadRanks(source: RankSource): Promise<RankTable> {
  let table = rankTables.get(source);
  if (table === undefined) {
    table = RANK_LOADERS[source]().then((m) => parseCompactRanks(m.default.bpe_ranks));
    rankTables.set(source, table);
  }
  return table;
}

/**
 * One of OpenAI's encodings by name. The first call for an encoding loads and parses its
 * rank data (see the README for sizes); later calls return the same instance.
 */
export async function getEncoding(name: string): Promise<Encoding> {
  const def = DEFS[name];
  if (def === undefined) {
    fail(
      'getEncoding',
      `unknown encoding ${JSON.stringify(name)}; known: ${ENCODING_NAMES.join(', ')}`,
    );
  }
  let enc = encodings.get(name);
  if (enc === undefined) {
    enc = loadRanks(def.ranks).then(
      (ranks) =>
        new Encoding({
          name,
          patStr: def.patStr,
          ranks,
          specialTokens: def.specialTokens(),
          asciiChunks: true,
        }),
    );
    encodings.set(name, enc);
  }
  return enc;
}

/** Which encoding tiktoken uses for a model name (a prefix table for dated variants). */
const MODEL_PREFIXES: [string, string][] = [
  ['gpt-oss', 'o200k_harmony'],
  ['gpt-5', 'o200k_base'],
  ['gpt-4.1', 'o200k_base'],
  ['gpt-4.5', 'o200k_base'],
  ['gpt-4o', 'o200k_base'],
  ['o1', 'o200k_base'],
  ['o3', 'o200k_base'],
  ['o4', 'o200k_base'],
  ['chatgpt-4o', 'o200k_base'],
  ['gpt-4', 'cl100k_base'],
  ['gpt-3.5', 'cl100k_base'],
  ['gpt-35', 'cl100k_base'],
  ['text-embedding-3', 'cl100k_base'],
  ['text-embedding-ada-002', 'cl100k_base'],
  ['text-davinci-003', 'p50k_base'],
  ['text-davinci-002', 'p50k_base'],
  ['code-davinci', 'p50k_base'],
  ['code-cushman', 'p50k_base'],
  ['text-davinci-edit', 'p50k_edit'],
  ['code-davinci-edit', 'p50k_edit'],
  ['davinci', 'r50k_base'],
  ['curie', 'r50k_base'],
  ['babbage', 'r50k_base'],
  ['ada', 'r50k_base'],
  ['gpt2', 'gpt2'],
  ['gpt-2', 'gpt2'],
];

export function encodingNameForModel(model: string): string {
  // Longest matching prefix, so `text-davinci-edit-001` is not taken for `text-davinci`.
  let best: [string, string] | undefined;
  for (const entry of MODEL_PREFIXES) {
    if (model.startsWith(entry[0]) && (best === undefined || entry[0].length > best[0].length))
      best = entry;
  }
  if (best === undefined)
    fail('encodingNameForModel', `no known encoding for model ${JSON.stringify(model)}`);
  return best[1];
}

export function encodingForModel(model: string): Promise<Encoding> {
  return getEncoding(encodingNameForModel(model));
}
