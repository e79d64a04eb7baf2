/**
 * Byte pair merging as tiktoken does it: repeatedly merge the adjacent pair whose
 * concatenation has the lowest rank, the leftmost on ties, until no pair is in the table.
 * Short pieces use the direct scan (quadratic in the piece, but pieces are short); long
 * ones use a heap over a linked list, O(n log n), so a run of a million identical letters
 * (one pre-token) stays fast. Both produce the same merge sequence because the heap orders
 * by (rank, start byte), and a merge never moves the start of the left part.
 */

const NONE = 0x7fffffff;
/** Below this many bytes the direct scan beats the heap's bookkeeping. */
const HEAP_THRESHOLD = 96;

function rankOf(encoder: Map<string, number>, piece: string, a: number, b: number): number {
  const r = encoder.get(piece.slice(a, b));
  return r === undefined ? NONE : r;
}

/** Appends the ids of `piece` (a byte string, not itself in the table) to `out`. */
export function bytePairEncode(
  encoder: Map<string, number>,
  piece: string,
  out: number[],
  lengths?: number[],
): void {
  const n = piece.length;
  if (n === 1) {
    emit(encoder, piece, 0, 1, out, lengths);
    return;
  }
  if (n < HEAP_THRESHOLD) scanMerge(encoder, piece, out, lengths);
  else heapMerge(encoder, piece, out, lengths);
}

function emit(
  encoder: Map<string, number>,
  piece: string,
  a: number,
  b: number,
  out: number[],
  lengths: number[] | undefined,
): void {
  const r = encoder.get(piece.slice(a, b));
  // Every single byte is a token in a byte-level table; a hole means broken rank data.
  if (r === undefined) throw new Error(`bytePairEncode: no rank for bytes [${a}, ${b})`);
  out.push(r);
  lengths?.push(b - a);
}

function scanMerge(
  encoder: Map<string, number>,
  piece: string,
  out: number[],
  lengths: number[] | undefined,
): void {
  const n = piece.length;
  // starts[0..count] are part boundaries; ranks[i] is the rank of parts i and i+1 joined.
  const starts = new Int32Array(n + 1);
  const ranks = new Int32Array(n);
  for (let i = 0; i <= n; i++) starts[i] = i;
  for (let i = 0; i < n - 1; i++) ranks[i] = rankOf(encoder, piece, i, i + 2);
  let count = n;
  for (;;) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i < count - 1; i++) {
      const r = ranks[i]!;
      if (r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    // Drop boundary at+1: part `at` absorbs its right neighbour.
    starts.copyWithin(at + 1, at + 2, count + 1);
    ranks.copyWithin(at + 1, at + 2, count);
    count--;
    ranks[at] = at + 1 < count ? rankOf(encoder, piece, starts[at]!, starts[at + 2]!) : NONE;
    if (at > 0) ranks[at - 1] = rankOf(encoder, piece, starts[at - 1]!, starts[at + 1]!);
  }
  for (let i = 0; i < count; i++) emit(encoder, piece, starts[i]!, starts[i + 1]!, out, lengths);
}

/** A binary min-heap of numbers; entries pack (rank, start) as rank * 2^32 + start. */
class NumberHeap {
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
  encoder: Map<string, number>,
  piece: string,
  out: number[],
  lengths: number[] | undefined,
): void {
  const n = piece.length;
  // Node i is the part starting at byte i; next/prev link live parts, pairRank[i] is the
  // rank of part i joined with its successor.
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const pairRank = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  const heap = new NumberHeap(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  for (let i = 0; i < n - 1; i++) {
    const r = rankOf(encoder, piece, i, i + 2);
    pairRank[i] = r;
    if (r !== NONE) heap.push(r * SHIFT + i);
  }
  pairRank[n - 1] = NONE;
  const endOf = (i: number): number => {
    const j = next[i]!;
    return Math.min(j, n);
  };
  while (heap.size > 0) {
    const top = heap.pop();
    const i = top % SHIFT;
    const r = (top - i) / SHIFT;
    if (!alive[i] || pairRank[i] !== r) continue;
    const j = next[i]!;
    alive[j] = 0;
    next[i] = next[j]!;
    if (next[i]! < n) prev[next[i]!] = i;
    const k = next[i]!;
    pairRank[i] = k < n ? rankOf(encoder, piece, i, endOf(k)) : NONE;
    if (pairRank[i] !== NONE) heap.push(pairRank[i]! * SHIFT + i);
    const p = prev[i]!;
    if (p >= 0) {
      pairRank[p] = rankOf(encoder, piece, p, endOf(i));
      if (pairRank[p] !== NONE) heap.push(pairRank[p]! * SHIFT + p);
    }
  }
  for (let i = 0; i < n; i = next[i]!) emit(encoder, piece, i, endOf(i), out, lengths);
}
