import { checkIds, checkOptions, checkText } from '../check-args.js';
import { fail } from '../errors.js';
import { compileRustPattern, escapeRegExp } from '../rust-regex.js';
import { createDecoder, type Decoder } from './decoders.js';
import { asComponent } from './json.js';
import { createModel, type Model } from './models.js';
import { createNormalizer, type Normalizer } from './normalizers.js';
import { createPostProcessor, type PostProcessor } from './post-processors.js';
import { createPreTokenizer, type PreTokenizer } from './pre-tokenizers.js';
import { trimEnd, trimStart } from './whitespace.js';

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

export interface HfEncodeOptions {
  /** Apply the post-processor's special tokens (e.g. [CLS] ... [SEP]); default true. */
  addSpecialTokens?: boolean;
  /** Second sequence, for pair templates. */
  pair?: string;
}

export interface HfEncoding {
  ids: number[];
  tokens: string[];
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

interface Segment {
  text: string;
  added: boolean;
  /** The added token's id (-1 for ordinary text). */
  id: number;
}

/**
 * A tokenizer described by a Hugging Face `tokenizer.json` value: normalizer,
 * pre-tokenizer, model (BPE, WordPiece or Unigram), post-processor and decoder, plus the
 * added tokens that are matched before everything else. Built from a parsed JSON value or
 * its text; it never fetches anything. Components it does not implement throw, by name.
 */
export class HfTokenizer {
  private readonly model: Model;
  private readonly normalizer: Normalizer | undefined;
  private readonly preTokenizer: PreTokenizer | undefined;
  private readonly postProcessor: PostProcessor | undefined;
  private readonly decoder: Decoder | undefined;
  private readonly added: AddedToken[];
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedById = new Map<number, AddedToken>();
  /** Added tokens by the text they match (normalized content for normalized ones). */
  private readonly addedByMatch = new Map<string, AddedToken>();
  private readonly rawSplit: RegExp | undefined;
  private readonly normalizedSplit: RegExp | undefined;

  static fromJSON(json: unknown): HfTokenizer {
    if (typeof json === 'string') {
      try {
        json = JSON.parse(json);
      } catch (e) {
        fail('HfTokenizer.fromJSON', `not valid JSON: ${(e as Error).message}`);
      }
    }
    return new HfTokenizer(json);
  }

  constructor(json: unknown) {
    const where = 'HfTokenizer';
    const root = asComponent(where, json);
    if (root.model === undefined) fail(where, 'tokenizer.json has no "model"');
    const compile = (source: string): RegExp => compileRustPattern(source);
    this.model = createModel(asComponent(`${where} model`, root.model));
    this.normalizer = createNormalizer(root.normalizer, compile);
    this.preTokenizer = createPreTokenizer(root.pre_tokenizer, compile);
    this.postProcessor = createPostProcessor(root.post_processor);
    this.decoder = createDecoder(root.decoder, compile);
    const list = (root.added_tokens ?? []) as Record<string, unknown>[];
    if (!Array.isArray(list)) fail(where, '"added_tokens" must be an array');
    this.added = list.map((t) => ({
      id: Number(t.id),
      content: String(t.content),
      special: t.special === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      singleWord: t.single_word === true,
      // tokenizers' default: special tokens are matched on raw text, others on normalized.
      normalized: t.normalized === undefined ? t.special !== true : t.normalized === true,
    }));
    const normalizer = this.normalizer;
    for (const t of this.added) {
      this.addedByContent.set(t.content, t);
      this.addedById.set(t.id, t);
      // A normalized added token is matched in normalized text, so by its normalized form.
      if (t.normalized && normalizer) this.addedByMatch.set(normalizer(t.content), t);
      else this.addedByMatch.set(t.content, t);
    }
    this.rawSplit = this.splitRegex(this.added.filter((t) => !t.normalized || !normalizer));
    this.normalizedSplit = normalizer
      ? this.splitRegex(
          this.added.filter((t) => t.normalized),
          normalizer,
        )
      : undefined;
  }

  /** Longest first: tokenizers matches added tokens leftmost-longest. */
  private splitRegex(tokens: AddedToken[], normalize?: Normalizer): RegExp | undefined {
    const texts = tokens.map((t) => (normalize ? normalize(t.content) : t.content)).filter(Boolean);
    if (texts.length === 0) return undefined;
    texts.sort((a, b) => b.length - a.length);
    return new RegExp(texts.map(escapeRegExp).join('|'), 'gu');
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    const added = this.addedById.get(id);
    if (added === undefined) return this.model.idToToken(id);
    // tokenizers gives a normalized added token back in its normalized form.
    return added.normalized && this.normalizer ? this.normalizer(added.content) : added.content;
  }

  encode(text: string, options: HfEncodeOptions = {}): HfEncoding {
    const where = 'HfTokenizer.encode';
    checkText(where, 'text', text);
    checkOptions(where, options);
    if (options.pair !== undefined) checkText(where, 'options.pair', options.pair);
    // Added tokens appear as the text they matched (stripped whitespace included, as in
    // tokenizers), so their ids are carried here rather than looked up by string.
    const addedIds = new Map<string, number>();
    const a = this.tokenizeInto(text, addedIds);
    const b = options.pair === undefined ? undefined : this.tokenizeInto(options.pair, addedIds);
    const tokens =
      options.addSpecialTokens !== false && this.postProcessor
        ? this.postProcessor(a, b)
        : b
          ? [...a, ...b]
          : a;
    const ids = tokens.map((t) => {
      const id = addedIds.get(t) ?? this.tokenToId(t);
      if (id === undefined) fail('HfTokenizer.encode', `token ${JSON.stringify(t)} has no id`);
      return id;
    });
    return { ids, tokens };
  }

  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    checkIds('HfTokenizer.decode', ids);
    checkOptions('HfTokenizer.decode', options);
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const token = this.idToToken(id);
      if (token === undefined)
        fail('HfTokenizer.decode', `id ${id} (at position ${i}) is not in the vocabulary`);
      if (options.skipSpecialTokens && this.addedById.get(id)?.special) continue;
      tokens.push(token);
    }
    return this.decoder ? this.decoder(tokens).join('') : tokens.join(' ');
  }

  /** Token strings of one sequence, before post-processing. */
  tokenize(text: string): string[] {
    checkText('HfTokenizer.tokenize', 'text', text);
    return this.tokenizeInto(text, new Map());
  }

  private tokenizeInto(text: string, addedIds: Map<string, number>): string[] {
    const out: string[] = [];
    for (const seg of this.splitAdded(text, this.rawSplit)) {
      if (seg.added) {
        out.push(seg.text);
        addedIds.set(seg.text, seg.id);
        continue;
      }
      const normalized = this.normalizer ? this.normalizer(seg.text) : seg.text;
      for (const inner of this.splitAdded(normalized, this.normalizedSplit)) {
        if (inner.added) {
          out.push(inner.text);
          addedIds.set(inner.text, inner.id);
          continue;
        }
        const pieces = this.preTokenizer ? this.preTokenizer([inner.text]) : [inner.text];
        for (const piece of pieces) for (const t of this.model.tokenize(piece)) out.push(t);
      }
    }
    return out;
  }

  /** Splits around added tokens, honouring lstrip / rstrip / single_word. */
  private splitAdded(text: string, re: RegExp | undefined): Segment[] {
    if (re === undefined || text === '') return text === '' ? [] : [{ text, added: false, id: -1 }];
    const out: Segment[] = [];
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const t = this.addedByMatch.get(m[0])!;
      let start = m.index;
      let end = start + m[0].length;
      if (t.singleWord) {
        const before = start > 0 && WORD_CHAR.test(text[start - 1]!);
        const after = end < text.length && WORD_CHAR.test(text[end]!);
        if (before || after) {
          re.lastIndex = start + 1;
          continue;
        }
      }
      if (t.lstrip) start = last + trimEnd(text.slice(last, start)).length;
      if (t.rstrip) end = text.length - trimStart(text.slice(end)).length;
      if (start > last) out.push({ text: text.slice(last, start), added: false, id: -1 });
      out.push({ text: text.slice(start, end), added: true, id: t.id });
      last = end;
      re.lastIndex = end;
    }
    if (last < text.length) out.push({ text: text.slice(last), added: false, id: -1 });
    return out;
  }
}
