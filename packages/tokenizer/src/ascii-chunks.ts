/**
 * Cuts text into chunks that are entirely ASCII and chunks that are not, so ASCII chunks
 * can be pre-tokenized by a regex with ASCII-only classes (about 5x faster in V8 than
 * Unicode property classes). Cuts fall only before a space that precedes an ASCII letter:
 * in every tiktoken pattern (gpt2 through o200k) a piece boundary lies there — letter,
 * digit and punctuation runs stop at the space, whitespace runs give it up to the word
 * (`\s+(?!\S)`), and `\s*[\r\n]+` ends at a line break — and matching from a boundary does
 * not depend on earlier text, so chunks tokenize exactly as the whole text would.
 */
export function forEachChunk(
  text: string,
  visit: (start: number, end: number, ascii: boolean) => void,
): void {
  const n = text.length;
  let chunkStart = 0;
  let ascii = true;
  let lastCut = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      if (ascii) {
        if (lastCut > chunkStart) {
          visit(chunkStart, lastCut, true);
          chunkStart = lastCut;
        }
        ascii = false;
      }
    } else if (c === 0x20 && i > chunkStart && isAsciiLetter(text.charCodeAt(i + 1))) {
      if (!ascii) {
        visit(chunkStart, i, false);
        chunkStart = i;
        ascii = true;
      }
      lastCut = i;
    }
  }
  if (chunkStart < n) visit(chunkStart, n, ascii);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}
