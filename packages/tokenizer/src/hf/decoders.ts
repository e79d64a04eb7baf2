import { CHAR_TO_BYTE } from './byte-level.js';
import { asComponent, patternOf, unsupported } from './json.js';

/** Maps the token strings of a sequence to text pieces (joined at the end). */
export type Decoder = (tokens: string[]) => string[];

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    // Invalid UTF-8 gives one U+FFFD per byte, as tokenizers does.
    const text = utf8.decode(new Uint8Array(bytes));
    out.push(text.includes('\ufffd') ? '\ufffd'.repeat(bytes.length) : text);
    bytes = [];
  };
  for (const t of tokens) {
    const m = BYTE_TOKEN.exec(t);
    if (m) bytes.push(Number.parseInt(m[1]!, 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}

export function createDecoder(
  value: unknown,
  compile: (source: string) => RegExp,
): Decoder | undefined {
  if (value === null || value === undefined) return undefined;
  const where = 'tokenizer.json decoder';
  const c = asComponent(where, value);
  switch (c.type) {
    case 'Sequence': {
      const list = ((c.decoders as unknown[]) ?? []).map((d) => createDecoder(d, compile));
      return (tokens) => list.reduce((ts, d) => (d ? d(ts) : ts), tokens);
    }
    case 'ByteLevel':
      return (tokens) => {
        const bytes: number[] = [];
        for (const ch of tokens.join('')) bytes.push(CHAR_TO_BYTE.get(ch) ?? 0x3f);
        return [utf8.decode(new Uint8Array(bytes))];
      };
    case 'WordPiece': {
      const prefix = String(c.prefix ?? '##');
      const cleanup = c.cleanup !== false;
      return (tokens) =>
        tokens.map((t, i) => {
          let s = i > 0 ? (t.startsWith(prefix) ? t.slice(prefix.length) : ` ${t}`) : t;
          if (cleanup) s = cleanupText(s);
          return s;
        });
    }
    case 'Metaspace': {
      const replacement = String(c.replacement ?? '\u2581');
      const scheme =
        (c.prepend_scheme as string) ?? (c.add_prefix_space === false ? 'never' : 'always');
      return (tokens) =>
        tokens.map((t, i) => {
          const s = t.replaceAll(replacement, ' ');
          return i === 0 && scheme !== 'never' && s.startsWith(' ') ? s.slice(1) : s;
        });
    }
    case 'BPEDecoder': {
      const suffix = String(c.suffix ?? '</w>');
      return (tokens) =>
        tokens.map((t, i) => t.replaceAll(suffix, i === tokens.length - 1 ? '' : ' '));
    }
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip': {
      const content = String(c.content ?? ' ');
      const start = Number(c.start ?? 0);
      const stop = Number(c.stop ?? 0);
      return (tokens) =>
        tokens.map((t) => {
          let a = 0;
          while (a < start && t.startsWith(content, a * content.length)) a++;
          let s = t.slice(a * content.length);
          let b = 0;
          while (b < stop && s.endsWith(content)) {
            s = s.slice(0, s.length - content.length);
            b++;
          }
          return s;
        });
    }
    case 'Replace': {
      const re = patternOf(where, c.pattern, compile);
      const content = String(c.content ?? '');
      return (tokens) => tokens.map((t) => t.replace(re, () => content));
    }
    default:
      return unsupported(where, 'decoder', c);
  }
}

/** tokenizers' `cleanup`: undo the spaces WordPiece puts before punctuation and contractions. */
function cleanupText(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
