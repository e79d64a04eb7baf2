import type { Architecture } from './architecture.js';
import { bert } from './bert.js';
import { gpt2 } from './gpt2.js';
import { llama } from './llama.js';

/** Every supported architecture, by config.json's `model_type`. */
export const ARCHITECTURES: ReadonlyMap<string, Architecture<unknown>> = new Map(
  ([gpt2, llama, bert] as Architecture<unknown>[]).flatMap((a) =>
    a.modelTypes.map((t) => [t, a] as const),
  ),
);

export const SUPPORTED_MODEL_TYPES: readonly string[] = [...ARCHITECTURES.keys()];
