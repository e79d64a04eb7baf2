import { fail } from './errors.js';

/**
 * A byte-level BPE vocabulary: byte string to rank (which is also the token id) and back.
 * The decode side is one flat byte buffer with offsets, which keeps 200k tokens in two
 * allocations instead of 200k small arrays.
 */
export interface RankTable {
  readonly encoder: Map<string, number>;
  /** Token `r` is bytes[offsets[r] .. offsets[r + 1]]; a gap in the ranks has length 0 and is absent from `present`. */
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  readonly present: Uint8Array;
  /** One more than the largest rank. */
  readonly size: number;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Decodes standard padded base64 into a byte string; undefined when malformed. */
function base64ToByteString(s: string): string | undefined {
  if (s.length === 0 || s.length % 4 !== 0) return undefined;
  let out = '';
  for (let i = 0; i < s.length; i += 4) {
    const a = B64_INDEX[s.charCodeAt(i)] ?? -1;
    const b = B64_INDEX[s.charCodeAt(i + 1)] ?? -1;
    const cc = s.charCodeAt(i + 2);
    const dc = s.charCodeAt(i + 3);
    const c = cc === 61 ? -2 : (B64_INDEX[cc] ?? -1);
    const d = dc === 61 ? -2 : (B64_INDEX[dc] ?? -1);
    if (a < 0 || b < 0 || c === -1 || d === -1) return undefined;
    if (c === -2 && d !== -2) return undefined;
    if ((c === -2 || d === -2) && i + 4 !== s.length) return undefined;
    const n = (a << 18) | (b << 12) | (Math.max(c, 0) << 6) | Math.max(d, 0);
    out += String.fromCharCode(n >>> 16);
    if (c >= 0) out += String.fromCharCode((n >>> 8) & 0xff);
    if (d >= 0) out += String.fromCharCode(n & 0xff);
  }
  return out;
}

function tableFromPairs(where: string, tokens: string[], ranks: number[]): RankTable {
  const encoder = new Map<string, number>();
  let size = 0;
  let total = 0;
  for (let i = 0; i < tokens.length; i++) {
    const r = ranks[i]!;
    const t = tokens[i]!;
    if (encoder.has(t))
      fail(where, `token of rank ${r} appears twice (also rank ${encoder.get(t)})`);
    encoder.set(t, r);
    if (r + 1 > size) size = r + 1;
    total += t.length;
  }
  const bytes = new Uint8Array(total);
  const offsets = new Uint32Array(size + 1);
  const present = new Uint8Array(size);
  const byRank: (string | undefined)[] = new Array(size);
  for (let i = 0; i < tokens.length; i++) {
    const r = ranks[i]!;
    if (byRank[r] !== undefined) fail(where, `rank ${r} is given to two tokens`);
    byRank[r] = tokens[i];
  }
  let at = 0;
  for (let r = 0; r < size; r++) {
    offsets[r] = at;
    const t = byRank[r];
    if (t === undefined) continue;
    present[r] = 1;
    for (let k = 0; k < t.length; k++) bytes[at++] = t.charCodeAt(k);
  }
  offsets[size] = at;
  return { encoder, bytes, offsets, present, size };
}

/**
 * Parses a `.tiktoken` file: one `base64 rank` pair a line, as OpenAI publishes them.
 * Truncated or corrupted files fail with the line number.
 */
export function parseTiktokenFile(text: string): RankTable {
  const where = 'parseTiktokenFile';
  const tokens: string[] = [];
  const ranks: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' && i === lines.length - 1) break;
    const space = line.indexOf(' ');
    const token = space > 0 ? base64ToByteString(line.slice(0, space)) : undefined;
    const rankText = space > 0 ? line.slice(space + 1) : '';
    if (token === undefined || !/^\d+$/.test(rankText)) {
      fail(where, `line ${i + 1} is not "<base64> <rank>": ${JSON.stringify(line.slice(0, 60))}`);
    }
    tokens.push(token);
    ranks.push(Number(rankText));
  }
  if (tokens.length === 0) fail(where, 'the rank file is empty');
  return tableFromPairs(where, tokens, ranks);
}

/**
 * Parses the compact form the `tiktoken` and `js-tiktoken` npm packages ship: lines of
 * `<label> <first rank> <base64> <base64> ...`, ranks counting up from the first.
 */
export function parseCompactRanks(text: string): RankTable {
  const where = 'parseCompactRanks';
  const tokens: string[] = [];
  const ranks: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const fields = line.split(' ');
    const first = fields[1];
    if (first === undefined || !/^\d+$/.test(first)) {
      fail(where, `line ${i + 1} has no starting rank`);
    }
    const start = Number(first);
    for (let k = 2; k < fields.length; k++) {
      const token = base64ToByteString(fields[k]!);
      if (token === undefined) {
        fail(where, `line ${i + 1}, field ${k + 1} is not base64: ${JSON.stringify(fields[k])}`);
      }
      tokens.push(token);
      ranks.push(start + k - 2);
    }
  }
  if (tokens.length === 0) fail(where, 'the rank data is empty');
  return tableFromPairs(where, tokens, ranks);
}

/** A table from byte-string tokens in rank order (rank = index), e.g. from a trainer. */
export function rankTableFromTokens(tokens: readonly string[]): RankTable {
  return tableFromPairs(
    'rankTableFromTokens',
    tokens.slice(),
    tokens.map((_, i) => i),
  );
}
