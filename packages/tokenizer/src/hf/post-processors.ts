import { fail } from '../errors.js';
import { asComponent, type Component, unsupported } from './json.js';

/** Adds special tokens around one sequence (or a pair) of token strings. */
export type PostProcessor = (a: string[], b: string[] | undefined) => string[];

type TemplatePiece = { SpecialToken?: { id: string }; Sequence?: { id: 'A' | 'B' } };

function template(where: string, c: Component): PostProcessor {
  const specials = (c.special_tokens ?? {}) as Record<string, { tokens: string[] }>;
  const expand = (pieces: TemplatePiece[], a: string[], b: string[] | undefined): string[] =>
    pieces.flatMap((p) => {
      if (p.Sequence) return p.Sequence.id === 'A' ? a : (b ?? []);
      const name = p.SpecialToken?.id;
      const special = name === undefined ? undefined : specials[name];
      if (special === undefined)
        fail(where, `template names unknown special token ${JSON.stringify(name)}`);
      return special.tokens;
    });
  return (a, b) => expand((b ? c.pair : c.single) as TemplatePiece[], a, b);
}

export function createPostProcessor(value: unknown): PostProcessor | undefined {
  if (value === null || value === undefined) return undefined;
  const where = 'tokenizer.json post_processor';
  const c = asComponent(where, value);
  switch (c.type) {
    case 'TemplateProcessing':
      return template(where, c);
    case 'BertProcessing': {
      const [sep] = c.sep as [string, number];
      const [cls] = c.cls as [string, number];
      return (a, b) => (b ? [cls, ...a, sep, ...b, sep] : [cls, ...a, sep]);
    }
    case 'RobertaProcessing': {
      const [sep] = c.sep as [string, number];
      const [cls] = c.cls as [string, number];
      return (a, b) => (b ? [cls, ...a, sep, sep, ...b, sep] : [cls, ...a, sep]);
    }
    case 'ByteLevel':
      // Only trims offsets; ids are untouched.
      return (a, b) => (b ? [...a, ...b] : a);
    case 'Sequence': {
      const list = ((c.processors as unknown[]) ?? []).map(createPostProcessor);
      return (a, b) => {
        // Each processor sees the previous one's output as a single sequence.
        let out = list[0] ? list[0](a, b) : b ? [...a, ...b] : a;
        for (const p of list.slice(1)) if (p) out = p(out, undefined);
        return out;
      };
    }
    default:
      return unsupported(where, 'post_processor', c);
  }
}
