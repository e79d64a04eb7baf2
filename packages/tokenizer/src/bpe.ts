/**
 * Byte pair merging as tiktoken does it: repeatedly merge the adjacent pair whose
 * concatenation has the lowest rank, the leftmost on ties, until no pair is in the table.
 * Short pieces use the direct scan (quadratic in the piece, but pieces are short); long
 * ones use a heap over a linked list, O(n log n), so a run of a million identical letters
 * (one pre-token) stays fast. Both produce the same merge sequence because the heap orders
 * by (rank, start byte), and a merge never moves the start of the left part.
 *
 * Every part is a token, so "rank of left + right" depends only on the two ranks; a small
 * hash table caches it, which spares building and hashing a substring for most lookups.
 */

const NONE = 0x7fffffff;
/** Below this many bytes the direct scan beats the heap's bookkeeping. */
const HEAP_THRESHOLD = 96;
const PAIR_SLOTS = 1 << 16;

export class BpeRanks {
  private readonly keysLeft = new Int32Array(PAIR_SLOTS).fill(-1);
  private readonly keysRight = new Int32Array(PAIR_SLOTS);
  private readonly values = new Int32Array(PAIR_SLOTS);
  private used = 0;
  /** Rank of each single byte (not the byte itself in GPT-2's ordering). */
  readonly byteRank = new Int32Array(256);

  constructor(readonly encoder: Map<string, number>) {
    for (let b = 0; b < 256; b++) {
      const r = encoder.get(String.fromCharCode(b));
      // Byte-level tables hold every byte; a hole means the rank data is broken.
      this.byteRank[b] = r === undefined ? -1 : r;
    }
  }

  /** Rank of the token made of parts `left` and `right` (bytes piece[a, m) and [m, b)), or NONE. */
  pair(left: number, right: number, piece: string, a: number, b: number): number {
    let h = (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca77)) >>> 16;
    for (;;) {
      const k = this.keysLeft[h]!;
      if (k === -1) break;
      if (k === left && this.keysRight[h] === right) return this.values[h]!;
      h = (h + 1) & (PAIR_SLOTS - 1);
    }
    const r = this.encoder.get(piece.slice(a, b));
    const value = r === undefined ? NONE : r;
    if (this.used >= PAIR_SLOTS >> 1) {
      this.keysLeft.fill(-1);
      this.used = 0;
      return value;
    }
    this.keysLeft[h] = left;
    this.keysRight[h] = right;
    this.values[h] = value;
    this.used++;
    return value;
  }
}

/** Appends the ids of `piece` (a byte string, not itself in the table) to `out`. */
export function bytePairEncode(
  ranks: BpeRanks,
  piece: string,
  out: number[],
  lengths?: number[],
): void {
  const n = piece.length;
  const parts = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = ranks.byteRank[piece.charCodeAt(i)]!;
    if (r < 0) throw new Error(`bytePairEncode: byte ${piece.charCodeAt(i)} has no rank`);
    parts[i] = r;
  }
  if (n < HEAP_THRESHOLD) scanMerge(ranks, piece, parts, out, lengths);
  else heapMerge(ranks, piece, parts, out, lengths);
}

function scanMerge(
  ranks: BpeRanks,
  piece: string,
  parts: Int32Array,
  out: number[],
  lengths: number[] | undefined,
): void {
  const n = piece.length;
  // starts[0..count] are part boundaries, parts[i] the rank of part i, pairs[i] the rank
  // of parts i and i+1 joined.
  const starts = new Int32Array(n + 1);
  const pairs = new Int32Array(n);
  for (let i = 0; i <= n; i++) starts[i] = i;
  for (let i = 0; i < n - 1; i++) pairs[i] = ranks.pair(parts[i]!, parts[i + 1]!, piece, i, i + 2);
  pairs[n - 1] = NONE;
  let count = n;
  for (;;) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i < count - 1; i++) {
      if (pairs[i]! < best) {
        best = pairs[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    // Part `at` absorbs its right neighbour: drop boundary at+1.
    parts[at] = best;
    starts.copyWithin(at + 1, at + 2, count + 1);
    parts.copyWithin(at + 1, at + 2, count);
    pairs.copyWithin(at + 1, at + 2, count);
    count--;
    pairs[at] =
      at + 1 < count ? ranks.pair(best, parts[at + 1]!, piece, starts[at]!, starts[at + 2]!) : NONE;
    if (at > 0)
      pairs[at - 1] = ranks.pair(parts[at - 1]!, best, piece, starts[at - 1]!, starts[at + 1]!);
  }
  for (let i = 0; i < count; i++) {
    out.push(parts[i]!);
    lengths?.push(starts[i + 1]! - starts[i]!);
  }
}

/** A binary min-heap of numbers; entries pack (rank, start) as rank * 2^32 + start. */
export class NumberHeap {
  private data: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.size === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const d = this.data;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p]! <= v) break;
      d[i] = d[p]!;
      i = p;
    }
    d[i] = v;
  }
  pop(): number {
    const d = this.data;
    const top = d[0]!;
    const last = d[--this.size]!;
    let i = 0;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && d[c + 1]! < d[c]!) c++;
      if (d[c]! >= last) break;
      d[i] = d[c]!;
      i = c;
    }
    d[i] = last;
    return top;
  }
}

const SHIFT = 2 ** 32;

function heapMerge(
  ranks: BpeRanks,
  piece: string,
  parts: Int32Array,
  out: number[],
  lengths: number[] | undefined,
): void {
  const n = piece.length;
  // Node i is the part starting at byte i (rank parts[i]); next/prev link live parts,
  // pairRank[i] is the rank of part i joined with its successor.
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const pairRank = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  const heap = new NumberHeap(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const endOf = (i: number): number => Math.min(next[i]!, n);
  const refresh = (i: number): void => {
    const j = next[i]!;
    const r = j < n ? ranks.pair(parts[i]!, parts[j]!, piece, i, endOf(j)) : NONE;
    pairRank[i] = r;
    if (r !== NONE) heap.push(r * SHIFT + i);
  };
  for (let i = 0; i < n; i++) refresh(i);
  while (heap.size > 0) {
    const top = heap.pop();
    const i = top % SHIFT;
    const r = (top - i) / SHIFT;
    if (!alive[i] || pairRank[i] !== r) continue;
    const j = next[i]!;
    alive[j] = 0;
    parts[i] = r;
    next[i] = next[j]!;
    if (next[i]! < n) prev[next[i]!] = i;
    refresh(i);
    if (prev[i]! >= 0) refresh(prev[i]!);
  }
  for (let i = 0; i < n; i = next[i]!) {
    out.push(parts[i]!);
    lengths?.push(endOf(i) - i);
  }
}
