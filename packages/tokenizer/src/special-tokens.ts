import { checkSpecialSet } from './check-args.js';
import { fail } from './errors.js';
import { escapeRegExp } from './rust-regex.js';

export type SpecialSet = 'all' | Iterable<string>;

export interface EncodeOptions {
  /** Special tokens encoded as themselves; default none. */
  allowedSpecial?: SpecialSet;
  /**
   * Special tokens whose text makes encode throw; default `'all'`, meaning every special
   * token not allowed (tiktoken's rule, so special text from users is never silently
   * turned into a control token).
   */
  disallowedSpecial?: SpecialSet;
}

/** Longest first, so a special token that extends another wins over it. */
export function specialTokenRegex(tokens: Iterable<string>): RegExp | undefined {
  const list = [...tokens].sort((a, b) => b.length - a.length);
  if (list.length === 0) return undefined;
  return new RegExp(list.map(escapeRegExp).join('|'), 'gu');
}

export interface ResolvedSpecial {
  allowed: ReadonlySet<string>;
  /** Regex for the disallowed set, or undefined when nothing is disallowed. */
  disallowed: RegExp | undefined;
}

/** Applies tiktoken's defaults: allowed none, disallowed = all specials not allowed. */
export function resolveSpecial(
  where: string,
  specials: ReadonlyMap<string, number>,
  allRegex: RegExp | undefined,
  options: EncodeOptions | undefined,
): ResolvedSpecial {
  const allowedOpt = options?.allowedSpecial ?? [];
  const disallowedOpt = options?.disallowedSpecial ?? 'all';
  checkSpecialSet(where, 'allowedSpecial', allowedOpt);
  checkSpecialSet(where, 'disallowedSpecial', disallowedOpt);
  const allowed = allowedOpt === 'all' ? new Set(specials.keys()) : new Set(allowedOpt);
  for (const t of allowed) {
    if (!specials.has(t))
      fail(
        where,
        `allowedSpecial names ${JSON.stringify(t)}, which is not a special token of this encoding`,
      );
  }
  let disallowed: RegExp | undefined;
  if (disallowedOpt === 'all') {
    disallowed =
      allowed.size === 0
        ? allRegex
        : specialTokenRegex([...specials.keys()].filter((t) => !allowed.has(t)));
  } else {
    disallowed = specialTokenRegex(disallowedOpt);
  }
  return { allowed, disallowed };
}

export function checkDisallowed(where: string, text: string, disallowed: RegExp | undefined): void {
  if (disallowed === undefined) return;
  disallowed.lastIndex = 0;
  const m = disallowed.exec(text);
  if (m !== null) {
    fail(
      where,
      `the text contains the special token ${JSON.stringify(m[0])} at index ${m.index}; pass it in allowedSpecial to encode it as a special token, or disallowedSpecial: [] to encode it as plain text`,
    );
  }
}
