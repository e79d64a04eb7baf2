import { RUST_WHITESPACE } from '../rust-regex.js';

/**
 * tokenizers tests whitespace with Rust's `char::is_whitespace` (Unicode White_Space):
 * U+0085 is whitespace and U+FEFF is not, the opposite of JS's `\s` and `trim()`.
 */
const RUN = new RegExp(`[${RUST_WHITESPACE}]+`, 'u');
const LEADING = new RegExp(`^[${RUST_WHITESPACE}]+`, 'u');
const TRAILING = new RegExp(`[${RUST_WHITESPACE}]+$`, 'u');
export const WHITESPACE_CHAR = new RegExp(`[${RUST_WHITESPACE}]`, 'gu');

export function trimStart(text: string): string {
  return text.replace(LEADING, '');
}

export function trimEnd(text: string): string {
  return text.replace(TRAILING, '');
}

/** Non-empty whitespace-separated words. */
export function splitWhitespace(text: string): string[] {
  return text.split(RUN).filter((w) => w !== '');
}
