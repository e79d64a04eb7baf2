/**
 * Byte strings: a run of bytes held as a JS string with one char (0..255) per byte. Rank
 * tables are keyed by them, and an ASCII piece of text is already its own byte string, so
 * the common case needs no conversion at all.
 */

// ignoreBOM: a leading U+FEFF is text that a token encodes, not a byte-order mark to drop.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const streamEncoder = new TextEncoder();

/** UTF-8 bytes of `text` (which must be well formed) as a byte string. */
export function utf8ByteString(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text;
  return bytesToByteString(streamEncoder.encode(text));
}

export function bytesToByteString(bytes: Uint8Array): string {
  let out = '';
  // fromCharCode.apply has an argument-count limit; 8192 stays well under every engine's.
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return out;
}

export function byteStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function utf8Encode(text: string): Uint8Array {
  return streamEncoder.encode(text);
}

/** Invalid sequences become U+FFFD, as Python's `bytes.decode(errors="replace")` does. */
export function utf8Decode(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ANY_SURROGATE = /[\ud800-\udfff]/;

/**
 * Lone surrogates cannot be UTF-8 encoded. tiktoken's JS binding passes strings to Rust,
 * where they become U+FFFD; doing the same keeps ids identical and keeps UTF-16 offsets
 * unchanged (one code unit for one code unit).
 */
export function wellFormed(text: string): string {
  // isWellFormed (ES2024) answers without a regex pass where the engine has it.
  const check = (text as { isWellFormed?: () => boolean }).isWellFormed;
  if (check !== undefined) return check.call(text) ? text : text.replace(LONE_SURROGATE, '\ufffd');
  return ANY_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\ufffd') : text;
}

/** UTF-8 length of the code point starting with `code` (a UTF-16 unit; a high surrogate means 4). */
export function utf8LengthOfUnit(code: number): number {
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdbff) return 4;
  return 3;
}
