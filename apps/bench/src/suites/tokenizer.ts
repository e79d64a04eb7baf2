import type * as QkvTokenizer from '@qkv/tokenizer';
import type * as GptTokenizer from 'gpt-tokenizer/encoding/cl100k_base';
import type * as JsTiktoken from 'js-tiktoken';
import type * as Tiktoken from 'tiktoken';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * Encode and decode throughput (MB/s of UTF-8 text) of @qkv/tokenizer against tiktoken
 * (wasm build of the Rust core), js-tiktoken and gpt-tokenizer, on one mixed corpus of
 * English prose, code, CJK and emoji. Every peer's ids are checked against tiktoken's
 * before timing, and a peer that disagrees is reported, not silently compared.
 */

type EncodingName = 'cl100k_base' | 'o200k_base';
const ENCODINGS: EncodingName[] = ['cl100k_base', 'o200k_base'];

interface Peer {
  name: string;
  encode(text: string): ArrayLike<number>;
  decode(ids: number[]): string;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'the of and to in is that it was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know'.split(
    ' ',
  );
const IDENTS = [
  'query',
  'key',
  'value',
  'scores',
  'mask',
  'heads',
  'dim',
  'x',
  'i',
  'batch',
  'seqLen',
  'weights',
];
const EMOJI = ['😀', '👍🏽', '🚀', '👨‍👩‍👧', '🇯🇵', '❤️', '🤖', '✨', '🎉', '🙏'];

const SYLLABLES = 'ka to ri shun bel mor ex tra pen dis qua lo ven ark im sol gre ny'.split(' ');

/**
 * A deterministic mixed corpus of about `chars` UTF-16 units. A third of the prose words
 * are made up from syllables, so the text keeps introducing words a pre-token cache has
 * not seen, as real text does.
 */
export function mixedCorpus(chars: number, seed = 7): string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const word = (): string => {
    if (r() < 0.67) return pick(WORDS);
    let w = '';
    for (let k = 1 + Math.floor(r() * 4); k > 0; k--) w += pick(SYLLABLES);
    return w;
  };
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    let block = '';
    const kind = r();
    if (kind < 0.45) {
      const words = Array.from({ length: 40 + Math.floor(r() * 60) }, word);
      words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
      block = `${words.join(' ').replace(/(\w+) (\w+) (\w+) /g, (m) => (r() < 0.1 ? `${m.trim()}, ` : m))}. It's ${Math.floor(r() * 10000)} words.\n\n`;
    } else if (kind < 0.7) {
      const a = r() < 0.5 ? pick(IDENTS) : word();
      const b = r() < 0.5 ? pick(IDENTS) : word();
      block = `function ${a}To${b[0]!.toUpperCase()}${b.slice(1)}(${a}, ${b}) {\n  const out = new Float32Array(${a}.length);\n  for (let i = 0; i < ${a}.length; i++) out[i] = ${a}[i] * ${b}[i] + ${(r() * 10).toFixed(3)};\n  return out; // ${pick(WORDS)} ${pick(WORDS)}\n}\n\n`;
    } else if (kind < 0.9) {
      for (let k = 0; k < 60; k++) {
        // Mostly common CJK ideographs and kana, with ideographic punctuation.
        const c = r();
        block +=
          c < 0.7
            ? String.fromCharCode(0x4e00 + Math.floor(r() * 3000))
            : c < 0.9
              ? String.fromCharCode(0x3041 + Math.floor(r() * 83))
              : '、。'[Math.floor(r() * 2)];
      }
      block += '\n';
    } else {
      for (let k = 0; k < 20; k++) block += pick(EMOJI) + (r() < 0.5 ? ' ' : '');
      block += '\n';
    }
    parts.push(block);
    length += block.length;
  }
  return parts.join('');
}

/**
 * Import a package by a computed name, so bundlers leave it out: the single-file CLI for
 * the GPU machine and the dashboard page carry no tokenizers (and no tiktoken wasm), and the
 * suite reports what it could not load instead of failing.
 */
async function importByName<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(/* @vite-ignore */ name)) as T;
  } catch {
    return undefined;
  }
}

async function peers(encoding: EncodingName, log: (m: string) => void): Promise<Peer[]> {
  const list: Peer[] = [];
  const qkv = await importByName<typeof QkvTokenizer>('@qkv/tokenizer');
  if (qkv) {
    const enc = await qkv.getEncoding(encoding);
    list.push({ name: 'qkv', encode: (t) => enc.encode(t), decode: (ids) => enc.decode(ids) });
  }
  const tiktoken = await importByName<typeof Tiktoken>('tiktoken');
  if (tiktoken) {
    const tk = tiktoken.get_encoding(encoding);
    const utf8 = new TextDecoder();
    list.push({
      name: 'tiktoken',
      encode: (t) => tk.encode(t),
      decode: (ids) => utf8.decode(tk.decode(Uint32Array.from(ids))),
    });
  }
  const jsTiktoken = await importByName<typeof JsTiktoken>('js-tiktoken');
  if (jsTiktoken) {
    const jst = jsTiktoken.getEncoding(encoding);
    list.push({
      name: 'js-tiktoken',
      encode: (t) => jst.encode(t),
      decode: (ids) => jst.decode(ids),
    });
  }
  const gpt = await importByName<typeof GptTokenizer>(`gpt-tokenizer/encoding/${encoding}`);
  if (gpt)
    list.push({
      name: 'gpt-tokenizer',
      encode: (t) => gpt.encode(t),
      decode: (ids) => gpt.decode(ids),
    });
  const missing = ['qkv', 'tiktoken', 'js-tiktoken', 'gpt-tokenizer'].filter(
    (n) => !list.some((p) => p.name === n),
  );
  if (missing.length > 0) log(`tokenizer: not available in this build: ${missing.join(', ')}`);
  return list;
}

export const tokenizerSuite: Suite = {
  name: 'tokenizer',
  description:
    'BPE encode / decode MB/s on mixed prose, code, CJK and emoji vs tiktoken, js-tiktoken, gpt-tokenizer',
  async run(ctx: SuiteContext): Promise<void> {
    const text = mixedCorpus(ctx.quick ? 20_000 : 400_000);
    const bytes = new TextEncoder().encode(text).length;
    for (const encoding of ENCODINGS) {
      const list = await peers(encoding, (m) => ctx.log(m));
      // tiktoken (the Rust core) is the reference for exact ids when it loaded.
      const referencePeer = list.find((p) => p.name === 'tiktoken') ?? list[0];
      if (!referencePeer) return;
      const reference = Array.from(referencePeer.encode(text));
      for (const peer of list) {
        const ids = Array.from(peer.encode(text));
        const exact = ids.length === reference.length && ids.every((id, i) => id === reference[i]);
        const roundTrip = peer.decode(reference) === text;
        if (!exact || !roundTrip)
          ctx.log(`${peer.name} ${encoding}: exact ids ${exact}, round trip ${roundTrip}`);
        const params = { encoding, op: 'encode', chars: text.length, exact };
        await ctx.measure(peer.name, params, () => peer.encode(text), { bytes });
        await ctx.measure(peer.name, { ...params, op: 'decode' }, () => peer.decode(reference), {
          bytes,
        });
      }
    }
  },
};

export default tokenizerSuite;
