import { getEncoding } from '@qkv/tokenizer';

/** One token as the page shows it: its id and the UTF-16 span of the text it came from. */
export interface ShownToken {
  id: number;
  start: number;
  end: number;
  /** The text of the span (byte-level tokens inside one character share that character). */
  text: string;
  /** The UTF-8 bytes this token stands for (part of a character when the span is shared). */
  bytes: Uint8Array;
}

/** OpenAI's encodings from @qkv/tokenizer; each one's rank data loads when first picked. */
export const ENCODINGS = ['cl100k_base', 'o200k_base', 'p50k_base', 'r50k_base', 'gpt2'] as const;
export const DEFAULT_ENCODING = 'cl100k_base';

/** Tokenize with `@qkv/tokenizer`, keeping each token's offsets into the text. */
export async function tokenize(text: string, encoding: string): Promise<ShownToken[]> {
  const enc = await getEncoding(encoding);
  return enc.encodeWithOffsets(text).map(({ id, start, end }) => ({
    id,
    start,
    end,
    text: text.slice(start, end),
    bytes: enc.tokenBytes(id),
  }));
}

/** Bytes as hex pairs, "F0 9F 98". */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}

/** Whether a token's bytes are whole UTF-8 characters (false for a piece of a character). */
export function isWholeText(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
