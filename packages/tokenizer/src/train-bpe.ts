import { Encoding } from './encoding.js';
import { fail } from './errors.js';
import { rankTableFromTokens } from './rank-data.js';
import { compileRustPattern } from './rust-regex.js';
import { utf8ByteString, wellFormed } from './utf8.js';

/** cl100k_base's pre-tokenizer, the usual choice for a byte-level BPE. */
export const DEFAULT_TRAIN_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export interface TrainBpeOptions {
  /** Tokens in the result, the 256 single bytes and the special tokens included. */
  vocabSize: number;
  specialTokens?: readonly string[];
  /** Pre-tokenizer in Rust regex syntax; merges never cross its pieces. */
  pattern?: string;
  /** Stop early when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Called after each merge, e.g. to animate a vocabulary being learned. */
  onMerge?: (merge: BpeMerge) => void;
}

export interface BpeMerge {
  /** The new token's id (= its rank). */
  id: number;
  left: number;
  right: number;
  /** The new token's bytes as a byte string (one char per byte). */
  bytes: string;
  /** How often the pair occurred in the corpus when it was merged. */
  count: number;
}

export interface TrainedBpe {
  encoding: Encoding;
  merges: BpeMerge[];
}

const KEY = 2 ** 21;

/**
 * Learns a byte-level BPE vocabulary (Sennrich et al. 2016, on bytes as in GPT-2): start
 * from the 256 bytes and repeatedly merge the most frequent adjacent pair inside
 * pre-tokenized words. Ties go to the smallest (left, right) ids, so training is
 * deterministic. Pair counts are updated incrementally, touching only the words that
 * contain the merged pair.
 */
export function trainBpe(corpus: string | readonly string[], options: TrainBpeOptions): TrainedBpe {
  const where = 'trainBpe';
  const specials = options.specialTokens ?? [];
  const target = options.vocabSize - specials.length;
  if (!Number.isInteger(options.vocabSize) || target < 256) {
    fail(
      where,
      `vocabSize must be an integer of at least 256 + ${specials.length} special tokens, got ${options.vocabSize}`,
    );
  }
  if (target >= KEY)
    fail(where, `vocabSize ${options.vocabSize} is above the trainer's limit of ${KEY}`);
  const minFrequency = options.minFrequency ?? 2;
  const pattern = options.pattern ?? DEFAULT_TRAIN_PATTERN;
  const re = compileRustPattern(pattern);

  // Distinct pre-tokenized words with their counts.
  const wordCounts = new Map<string, number>();
  for (const text of typeof corpus === 'string' ? [corpus] : corpus) {
    for (const m of wellFormed(text).matchAll(re)) {
      const w = utf8ByteString(m[0]);
      wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
    }
  }
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    words.push(Array.from(w, (ch) => ch.charCodeAt(0)));
    counts.push(c);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number): void => {
    const w = words[wi]!;
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i]! * KEY + w[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * counts[wi]!);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  const tokens: string[] = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));
  const merges: BpeMerge[] = [];
  while (tokens.length < target) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [key, c] of pairCount) {
      if (c > bestCount || (c === bestCount && c > 0 && key < bestKey)) {
        bestKey = key;
        bestCount = c;
      }
    }
    if (bestKey < 0 || bestCount < minFrequency) break;
    const left = Math.floor(bestKey / KEY);
    const right = bestKey % KEY;
    const id = tokens.length;
    const merge: BpeMerge = {
      id,
      left,
      right,
      bytes: tokens[left]! + tokens[right]!,
      count: bestCount,
    };
    tokens.push(merge.bytes);
    merges.push(merge);
    for (const wi of pairWords.get(bestKey) ?? []) {
      addPairs(wi, -1);
      const w = words[wi]!;
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === left && w[i + 1] === right) {
          out.push(id);
          i++;
        } else out.push(w[i]!);
      }
      words[wi] = out;
      addPairs(wi, 1);
    }
    pairWords.delete(bestKey);
    pairCount.delete(bestKey);
    options.onMerge?.(merge);
  }

  const ranks = rankTableFromTokens(tokens);
  const specialTokens: Record<string, number> = {};
  specials.forEach((s, i) => {
    specialTokens[s] = tokens.length + i;
  });
  return {
    encoding: new Encoding({ name: 'trained-bpe', patStr: pattern, ranks, specialTokens }),
    merges,
  };
}
