import { NumberHeap } from '../bpe.js';
import { fail } from '../errors.js';
import { type Component, unsupported } from './json.js';

/** A tokenizer.json model: one pre-tokenized word to tokens. */
export interface Model {
  tokenize(word: string): string[];
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

function vocabMap(where: string, vocab: unknown): Map<string, number> {
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab))
    fail(where, 'vocab must be an object of token to id');
  return new Map(Object.entries(vocab as Record<string, number>));
}

function inverse(map: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [t, id] of map) out[id] = t;
  return out;
}

const byteToken = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
const utf8 = new TextEncoder();

/** Byte-pair encoding by merge priority (Sennrich et al. 2016), as tokenizers' BPE model. */
export class BpeModel implements Model {
  private readonly vocab: Map<string, number>;
  private readonly ids: string[];
  /** "left right" to [rank, merged id]. */
  private readonly merges = new Map<string, [number, string]>();
  private readonly cache = new Map<string, string[]>();
  private readonly unk: string | undefined;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly byteFallback: boolean;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;

  constructor(c: Component) {
    const where = 'tokenizer.json model BPE';
    this.vocab = vocabMap(where, c.vocab);
    this.ids = inverse(this.vocab);
    this.prefix = (c.continuing_subword_prefix as string | null) ?? '';
    const merges = (c.merges ?? []) as unknown[];
    merges.forEach((m, rank) => {
      // Two formats: "a b" (older files) and ["a", "b"] (tokenizers >= 0.20).
      const pair = typeof m === 'string' ? splitMerge(m) : (m as string[]);
      if (!Array.isArray(pair) || pair.length !== 2)
        fail(where, `merge ${rank} is malformed: ${JSON.stringify(m)}`);
      // With a continuing-subword prefix, "a ##b" merges to "ab", not "a##b".
      const right =
        this.prefix && pair[1]!.startsWith(this.prefix)
          ? pair[1]!.slice(this.prefix.length)
          : pair[1]!;
      const merged = pair[0]! + right;
      // As tokenizers' BPE builder: both parts and the merged token must be in the vocabulary.
      for (const token of [pair[0]!, pair[1]!, merged]) {
        if (!this.vocab.has(token)) {
          fail(
            where,
            `merge ${rank} (${JSON.stringify(m)}) names ${JSON.stringify(token)}, which is not in the vocabulary`,
          );
        }
      }
      const key = `${pair[0]} ${pair[1]}`;
      if (!this.merges.has(key)) this.merges.set(key, [rank, merged]);
    });
    this.unk = (c.unk_token as string | null) ?? undefined;
    this.suffix = (c.end_of_word_suffix as string | null) ?? '';
    this.byteFallback = c.byte_fallback === true;
    this.fuseUnk = c.fuse_unk === true;
    this.ignoreMerges = c.ignore_merges === true;
    if (c.dropout !== undefined && c.dropout !== null && c.dropout !== 0)
      fail(where, 'dropout is not supported');
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.ids[id];
  }

  tokenize(word: string): string[] {
    if (word === '') return [];
    let hit = this.cache.get(word);
    if (hit === undefined) {
      hit = this.merge(word);
      if (this.cache.size > 20_000) this.cache.clear();
      this.cache.set(word, hit);
    }
    return hit;
  }

  private merge(word: string): string[] {
    if (this.ignoreMerges && this.vocab.has(word)) return [word];
    const chars = Array.from(word);
    const parts: string[] = [];
    let lastUnk = false;
    chars.forEach((ch, i) => {
      let piece = i > 0 ? this.prefix + ch : ch;
      if (i === chars.length - 1) piece += this.suffix;
      if (this.vocab.has(piece)) {
        parts.push(piece);
        lastUnk = false;
      } else if (
        this.byteFallback &&
        [...utf8.encode(ch)].every((b) => this.vocab.has(byteToken(b)))
      ) {
        for (const b of utf8.encode(ch)) parts.push(byteToken(b));
        lastUnk = false;
      } else if (this.unk !== undefined) {
        if (!(this.fuseUnk && lastUnk)) parts.push(this.unk);
        lastUnk = true;
      } else {
        fail(
          'BPE',
          `character ${JSON.stringify(ch)} is not in the vocabulary and there is no unk_token`,
        );
      }
    });
    return mergeParts(parts, this.merges);
  }
}

/**
 * Applies merges lowest rank first, leftmost on ties, as tokenizers' `Word::merge_all`
 * does with its priority queue: a heap over a linked list of parts, O(n log n) even when
 * a whole text is one word (Llama 2's tokenizer.json has no pre-tokenizer).
 */
function mergeParts(parts: string[], merges: Map<string, [number, string]>): string[] {
  const n = parts.length;
  if (n < 2) return parts;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const pairRank = new Int32Array(n);
  const heap = new NumberHeap(n);
  const merged: (string | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const refresh = (i: number): void => {
    const j = next[i]!;
    const m = j < n ? merges.get(`${parts[i]} ${parts[j]}`) : undefined;
    pairRank[i] = m === undefined ? -1 : m[0];
    merged[i] = m?.[1];
    if (m !== undefined) heap.push(m[0] * 2 ** 32 + i);
  };
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n - 1; i++) refresh(i);
  while (heap.size > 0) {
    const top = heap.pop();
    const i = top % 2 ** 32;
    const rank = (top - i) / 2 ** 32;
    if (!alive[i] || pairRank[i] !== rank) continue;
    const j = next[i]!;
    parts[i] = merged[i]!;
    alive[j] = 0;
    next[i] = next[j]!;
    if (next[i]! < n) prev[next[i]!] = i;
    refresh(i);
    if (prev[i]! >= 0) refresh(prev[i]!);
  }
  const out: string[] = [];
  for (let i = 0; i < n; i = next[i]!) out.push(parts[i]!);
  return out;
}

function splitMerge(m: string): string[] {
  const space = m.indexOf(' ', 1);
  return space < 0 ? [m] : [m.slice(0, space), m.slice(space + 1)];
}

/** Greedy longest-match-first subwords (BERT; Wu et al. 2016). */
export class WordPieceModel implements Model {
  private readonly vocab: Map<string, number>;
  private readonly ids: string[];
  private readonly unk: string;
  private readonly prefix: string;
  private readonly maxChars: number;

  constructor(c: Component) {
    this.vocab = vocabMap('tokenizer.json model WordPiece', c.vocab);
    this.ids = inverse(this.vocab);
    this.unk = (c.unk_token as string) ?? '[UNK]';
    this.prefix = (c.continuing_subword_prefix as string) ?? '##';
    this.maxChars = (c.max_input_chars_per_word as number) ?? 100;
  }
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.ids[id];
  }
  tokenize(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > this.maxChars) return [this.unk];
    const out: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        let sub = chars.slice(start, end).join('');
        if (start > 0) sub = this.prefix + sub;
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [this.unk];
      out.push(found);
      start = end;
    }
    return out;
  }
}

/** Marks an unknown piece until unknowns are fused; cannot collide with a vocabulary entry. */
const UNK = '\u0000unk';

/** Unigram language model segmentation by Viterbi (Kudo 2018), as tokenizers' Unigram. */
export class UnigramModel implements Model {
  private readonly vocab = new Map<string, number>();
  private readonly scores: number[] = [];
  private readonly ids: string[] = [];
  private readonly unkId: number | undefined;
  private readonly unkScore: number;
  private readonly byteFallback: boolean;
  private readonly maxLen: number;

  constructor(c: Component) {
    const where = 'tokenizer.json model Unigram';
    const vocab = c.vocab as [string, number][];
    if (!Array.isArray(vocab)) fail(where, 'vocab must be an array of [token, score]');
    let min = Number.POSITIVE_INFINITY;
    let maxLen = 0;
    vocab.forEach(([t, s], id) => {
      this.vocab.set(t, id);
      this.scores.push(s);
      this.ids.push(t);
      if (s < min) min = s;
      maxLen = Math.max(maxLen, t.length);
    });
    this.maxLen = maxLen;
    this.unkId = (c.unk_id as number | null) ?? undefined;
    // tokenizers scores an unknown character at the lowest score minus 10 (K_UNK_PENALTY).
    this.unkScore = min - 10;
    this.byteFallback = c.byte_fallback === true;
  }
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.ids[id];
  }
  tokenize(word: string): string[] {
    const n = word.length;
    // best[i]: best score of a segmentation of word[0, i); from[i]: start of its last piece.
    const best = new Float64Array(n + 1).fill(Number.NEGATIVE_INFINITY);
    const from = new Int32Array(n + 1).fill(-1);
    const unkAt = new Uint8Array(n + 1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      if (best[i] === Number.NEGATIVE_INFINITY) continue;
      const cp = word.codePointAt(i)!;
      const charLen = cp > 0xffff ? 2 : 1;
      let single = false;
      for (let len = 1; len <= this.maxLen && i + len <= n; len++) {
        const id = this.vocab.get(word.slice(i, i + len));
        if (id === undefined) continue;
        if (len === charLen) single = true;
        const s = best[i]! + this.scores[id]!;
        if (s > best[i + len]!) {
          best[i + len] = s;
          from[i + len] = i;
          unkAt[i + len] = 0;
        }
      }
      if (!single) {
        const s = best[i]! + this.unkScore;
        if (s > best[i + charLen]!) {
          best[i + charLen] = s;
          from[i + charLen] = i;
          unkAt[i + charLen] = 1;
        }
      }
    }
    const pieces: (string | string[])[] = [];
    for (let end = n; end > 0; end = from[end]!) {
      const start = from[end]!;
      const piece = word.slice(start, end);
      pieces.push(unkAt[end] ? this.unknown(piece) : piece);
    }
    pieces.reverse();
    // Consecutive unknowns fuse into one, as in tokenizers.
    const out: string[] = [];
    for (const p of pieces.flat()) {
      if (!(p === UNK && out.at(-1) === UNK)) out.push(p);
    }
    return out.map((p) => (p === UNK ? this.ids[this.unkId!]! : p));
  }

  private unknown(piece: string): string[] | string {
    if (this.byteFallback) {
      const bytes = [...utf8.encode(piece)].map(byteToken);
      if (bytes.every((b) => this.vocab.has(b))) return bytes;
    }
    if (this.unkId === undefined) fail('Unigram', `no unk_id for unknown ${JSON.stringify(piece)}`);
    return UNK;
  }
}

export function createModel(c: Component): Model {
  switch (c.type) {
    case 'BPE':
      return new BpeModel(c);
    case 'WordPiece':
      return new WordPieceModel(c);
    case 'Unigram':
      return new UnigramModel(c);
    default:
      // Files from older tokenizers versions omit model.type; infer from the fields.
      if (c.type === undefined && 'merges' in c) return new BpeModel(c);
      if (c.type === undefined && Array.isArray(c.vocab)) return new UnigramModel(c);
      return unsupported('tokenizer.json', 'model', c);
  }
}
