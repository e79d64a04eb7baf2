import { forEachChunk } from './ascii-chunks.js';
import { BpeRanks, bytePairEncode } from './bpe.js';
import { checkIds, checkOptions, checkText, checkTexts } from './check-args.js';
import { fail } from './errors.js';
import type { RankTable } from './rank-data.js';
import { type CharTables, compileRustPattern } from './rust-regex.js';
import {
  checkDisallowed,
  type EncodeOptions,
  resolveSpecial,
  specialTokenRegex,
} from './special-tokens.js';
import { StreamDecoder } from './stream-decoder.js';
import { coveredByRiskCheck, needsPinnedTables } from './unicode-risk.js';
import { utf8ByteString, utf8Decode, utf8Encode, utf8LengthOfUnit, wellFormed } from './utf8.js';

export interface EncodingSpec {
  name: string;
  /** Pre-tokenizer in Rust regex syntax (tiktoken's `pat_str`). */
  patStr: string;
  ranks: RankTable;
  specialTokens: Record<string, number>;
  /**
   * Pre-tokenize ASCII stretches with an ASCII-only regex. Only valid for patterns with a
   * piece boundary before every space that precedes an ASCII letter (all tiktoken ones).
   */
  asciiChunks?: boolean;
}

/** A token with the UTF-16 span of the input it came from. */
export interface TokenSpan {
  id: number;
  /** Index of the first UTF-16 unit of the character holding the token's first byte. */
  start: number;
  /** Index just past the character holding the token's last byte. */
  end: number;
}

/** A pre-tokenizer compiled twice: sticky for tiling, global for finding the next match. */
class PiecePattern {
  readonly sticky: RegExp;
  readonly global: RegExp;
  constructor(patStr: string, tables: CharTables) {
    this.sticky = compileRustPattern(patStr, tables, 'uy');
    this.global = compileRustPattern(patStr, tables, 'gu');
  }
  /** The next non-empty match at or after `from` (Rust's find_iter never yields empty ones here). */
  next(text: string, from: number): RegExpExecArray | undefined {
    const re = this.global;
    re.lastIndex = from;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length > 0) return m;
      re.lastIndex = m.index + 1;
    }
    return undefined;
  }
}

/** Pre-token results are cached, up to this many. */
const CACHE_LIMIT = 100_000;

/**
 * A byte-level BPE encoding with tiktoken's exact behaviour: pre-tokenize with the
 * encoding's regex, look each piece up whole, and merge the pieces that are not tokens.
 */
export class Encoding {
  readonly name: string;
  readonly patStr: string;
  readonly specialTokens: ReadonlyMap<string, number>;
  /** Largest id plus one, special tokens included. */
  readonly nVocab: number;
  private readonly ranks: RankTable;
  private readonly bpe: BpeRanks;
  /** Pre-tokenizer with pinned Unicode 16.0 classes (exact everywhere) ... */
  private readonly exactPattern: PiecePattern;
  /** ... and with the engine's own classes, several times faster, used when `needsPinnedTables` allows. */
  private readonly fastPattern: PiecePattern;
  /** ... and with ASCII-only classes, for ASCII chunks (see ascii-chunks.ts), when the spec allows. */
  private readonly asciiPattern: PiecePattern | undefined;
  private readonly specialRegex: RegExp | undefined;
  private readonly specialById = new Map<number, Uint8Array>();
  private readonly cache = new Map<string, number | number[]>();

  constructor(spec: EncodingSpec) {
    this.name = spec.name;
    this.patStr = spec.patStr;
    this.ranks = spec.ranks;
    this.bpe = new BpeRanks(spec.ranks.encoder);
    this.exactPattern = new PiecePattern(spec.patStr, 'pinned');
    // The engine's tables are only used where needsPinnedTables can vouch for them.
    this.fastPattern = coveredByRiskCheck(spec.patStr)
      ? new PiecePattern(spec.patStr, 'native')
      : this.exactPattern;
    if (spec.asciiChunks) this.asciiPattern = new PiecePattern(spec.patStr, 'ascii');
    const specials = new Map(Object.entries(spec.specialTokens));
    this.specialTokens = specials;
    this.specialRegex = specialTokenRegex(specials.keys());
    let n = spec.ranks.size;
    for (const [text, id] of specials) {
      // Several names for one id (o200k_harmony's <|endofprompt|> and <|reserved_200018|>):
      // decode uses the first one listed.
      if (!this.specialById.has(id)) this.specialById.set(id, utf8Encode(text));
      if (id + 1 > n) n = id + 1;
    }
    this.nVocab = n;
  }

  /**
   * Encodes text. Special tokens are plain text unless allowed; by default text that
   * spells a special token throws (see EncodeOptions).
   */
  encode(text: string, options?: EncodeOptions): number[] {
    const where = `${this.name}.encode`;
    checkText(where, 'text', text);
    checkOptions(where, options);
    const { allowed, disallowed } = resolveSpecial(
      where,
      this.specialTokens,
      this.specialRegex,
      options,
    );
    text = wellFormed(text);
    checkDisallowed(where, text, disallowed);
    const out: number[] = [];
    if (allowed.size === 0 || this.specialRegex === undefined) {
      this.encodeSegment(text, 0, text.length, out);
      return out;
    }
    this.forEachSpecialSplit(text, allowed, (start, end, special) => {
      this.encodeSegment(text, start, end, out);
      if (special !== undefined) out.push(this.specialTokens.get(special)!);
    });
    return out;
  }

  /** Encodes text with special tokens treated as ordinary text; never throws on them. */
  encodeOrdinary(text: string): number[] {
    checkText(`${this.name}.encodeOrdinary`, 'text', text);
    text = wellFormed(text);
    const out: number[] = [];
    this.encodeSegment(text, 0, text.length, out);
    return out;
  }

  encodeBatch(texts: readonly string[], options?: EncodeOptions): number[][] {
    const where = `${this.name}.encodeBatch`;
    checkTexts(where, 'texts', texts);
    checkOptions(where, options);
    return texts.map((t) => this.encode(t, options));
  }

  countTokens(text: string, options?: EncodeOptions): number {
    return this.encode(text, options).length;
  }

  /** Like encode, with each token's UTF-16 span in `text` (for showing tokens over text). */
  encodeWithOffsets(text: string, options?: EncodeOptions): TokenSpan[] {
    const where = `${this.name}.encodeWithOffsets`;
    checkText(where, 'text', text);
    checkOptions(where, options);
    const { allowed, disallowed } = resolveSpecial(
      where,
      this.specialTokens,
      this.specialRegex,
      options,
    );
    const clean = wellFormed(text);
    checkDisallowed(where, clean, disallowed);
    const spans: TokenSpan[] = [];
    const segment = (start: number, end: number): void => {
      const sub = clean.slice(start, end);
      const re = this.patternFor(sub).global;
      re.lastIndex = 0;
      for (let m = re.exec(sub); m !== null; m = re.exec(sub)) {
        const piece = m[0];
        const ids: number[] = [];
        const lengths: number[] = [];
        const key = utf8ByteString(piece);
        const whole = this.ranks.encoder.get(key);
        if (whole !== undefined) {
          ids.push(whole);
          lengths.push(key.length);
        } else bytePairEncode(this.bpe, key, ids, lengths);
        pieceSpans(piece, start + m.index, ids, lengths, spans);
      }
    };
    this.forEachSpecialSplit(clean, allowed, (start, end, special) => {
      segment(start, end);
      if (special !== undefined) {
        spans.push({ id: this.specialTokens.get(special)!, start: end, end: end + special.length });
      }
    });
    return spans;
  }

  /** UTF-8 bytes of the tokens; throws on an id outside the vocabulary. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    checkIds(`${this.name}.decode`, ids);
    const { bytes, offsets, present, size } = this.ranks;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >= 0 && id < size && present[id]) total += offsets[id + 1]! - offsets[id]!;
      else {
        const special = this.specialById.get(id);
        if (special === undefined) {
          fail(
            `${this.name}.decode`,
            `id ${id} (at position ${i}) is not a token of this encoding (vocabulary size ${this.nVocab})`,
          );
        }
        total += special.length;
      }
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >= 0 && id < size && present[id]) {
        const a = offsets[id]!;
        const b = offsets[id + 1]!;
        for (let k = a; k < b; k++) out[at++] = bytes[k]!;
      } else {
        const special = this.specialById.get(id)!;
        out.set(special, at);
        at += special.length;
      }
    }
    return out;
  }

  /** Text of the tokens; bytes that are not valid UTF-8 on their own become U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    return utf8Decode(this.decodeBytes(ids));
  }

  /** Bytes of one token. */
  tokenBytes(id: number): Uint8Array {
    return this.decodeBytes([id]);
  }

  /** A decoder for ids arriving in chunks that only ever emits whole characters. */
  streamDecoder(): StreamDecoder {
    return new StreamDecoder((ids) => this.decodeBytes(ids));
  }

  /** Calls `visit(start, end, special)` for each ordinary segment and the allowed special after it. */
  private forEachSpecialSplit(
    text: string,
    allowed: ReadonlySet<string>,
    visit: (start: number, end: number, special: string | undefined) => void,
  ): void {
    const re = this.specialRegex;
    let start = 0;
    if (re !== undefined && allowed.size > 0) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (!allowed.has(m[0])) {
          // tiktoken resumes the search one past a special token it may not use.
          re.lastIndex = m.index + 1;
          continue;
        }
        visit(start, m.index, m[0]);
        start = m.index + m[0].length;
        re.lastIndex = start;
      }
    }
    visit(start, text.length, undefined);
  }

  private patternFor(text: string): PiecePattern {
    return needsPinnedTables(text) ? this.exactPattern : this.fastPattern;
  }

  private encodeSegment(text: string, start: number, end: number, out: number[]): void {
    if (start >= end) return;
    const sub = start === 0 && end === text.length ? text : text.slice(start, end);
    const unicode = this.patternFor(sub);
    const ascii = this.asciiPattern;
    if (ascii === undefined) {
      this.encodePieces(sub, unicode, false, out);
      return;
    }
    forEachChunk(sub, (a, b, isAscii) => {
      const chunk = a === 0 && b === sub.length ? sub : sub.slice(a, b);
      this.encodePieces(chunk, isAscii ? ascii : unicode, isAscii, out);
    });
  }

  /** `ascii`: every piece is ASCII, so a piece is its own byte string. */
  private encodePieces(sub: string, pattern: PiecePattern, ascii: boolean, out: number[]): void {
    const sticky = pattern.sticky;
    const encoder = this.ranks.encoder;
    const cache = this.cache;
    const n = sub.length;
    // Pieces almost always tile the text, so a sticky test() finds each one without
    // building a match array; pattern.next() finds the next match after a gap.
    for (let pos = 0; pos < n; ) {
      sticky.lastIndex = pos;
      let stop = sticky.test(sub) ? sticky.lastIndex : pos;
      if (stop === pos) {
        const m = pattern.next(sub, pos);
        if (m === undefined) break;
        pos = m.index;
        stop = m.index + m[0].length;
      }
      const piece = sub.slice(pos, stop);
      pos = stop;
      // The cache (small, so its lookups stay in CPU cache) comes before the rank table.
      const hit = cache.get(piece);
      if (hit !== undefined) {
        if (typeof hit === 'number') out.push(hit);
        else for (let k = 0; k < hit.length; k++) out.push(hit[k]!);
        continue;
      }
      const key = ascii ? piece : utf8ByteString(piece);
      const whole = encoder.get(key);
      let value: number | number[];
      if (whole !== undefined) {
        value = whole;
        out.push(whole);
      } else {
        const ids: number[] = [];
        bytePairEncode(this.bpe, key, ids);
        for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
        value = ids;
      }
      // A full cache stops growing rather than starting over: the pieces seen first are
      // the frequent ones, and clearing would make every pass over a large text cold.
      if (piece.length <= 256 && cache.size < CACHE_LIMIT) cache.set(piece, value);
    }
  }
}

/** Maps each token's byte range inside `piece` to UTF-16 offsets of whole characters. */
function pieceSpans(
  piece: string,
  base: number,
  ids: number[],
  lengths: number[],
  spans: TokenSpan[],
): void {
  // unitAt[b] = UTF-16 index of the character containing byte b of the piece.
  const bytes = lengths.reduce((a, b) => a + b, 0);
  const unitAt = new Int32Array(bytes + 1);
  let b = 0;
  for (let u = 0; u < piece.length; ) {
    const len = utf8LengthOfUnit(piece.charCodeAt(u));
    for (let k = 0; k < len; k++) unitAt[b++] = u;
    u += len === 4 ? 2 : 1;
  }
  unitAt[bytes] = piece.length;
  let at = 0;
  for (let t = 0; t < ids.length; t++) {
    const len = lengths[t]!;
    const last = unitAt[at + len - 1]!;
    const lastLen = piece.charCodeAt(last) >= 0xd800 && piece.charCodeAt(last) <= 0xdbff ? 2 : 1;
    spans.push({ id: ids[t]!, start: base + unitAt[at]!, end: base + last + lastLen });
    at += len;
  }
}
