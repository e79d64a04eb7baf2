/** One token as the page shows it: its id and the UTF-16 span of the text it came from. */
export interface ShownToken {
  id: number;
  start: number;
  end: number;
  /** The text of the span (a byte-level token inside a character shows the whole character). */
  text: string;
}

export const ENCODINGS = ['words'] as const;
export const DEFAULT_ENCODING = 'words';

/**
 * Split text into tokens with offsets. `words` splits on words and punctuation and numbers
 * word types in order of first appearance.
 */
export async function tokenize(text: string, _encoding: string): Promise<ShownToken[]> {
  const ids = new Map<string, number>();
  const out: ShownToken[] = [];
  for (const m of text.matchAll(/\p{L}+|\p{N}+|[^\s\p{L}\p{N}]/gu)) {
    const word = m[0];
    if (!ids.has(word)) ids.set(word, ids.size);
    out.push({ id: ids.get(word)!, start: m.index, end: m.index + word.length, text: word });
  }
  return out;
}
