import { fail } from '../errors.js';
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

/**
 * The parameters (checkpoint names, without a head's prefix) and shapes a config.json
 * describes: what `loadModel` expects to find, and what a random checkpoint must hold.
 */
export function checkpointShapes(
  config: Readonly<Record<string, unknown>>,
): Map<string, readonly number[]> {
  const architecture = architectureFor(config.model_type, 'checkpointShapes', 'config');
  return architecture.parameters(architecture.parseConfig(config));
}

/** The architecture of a `model_type`; `where` and `file` name the caller and the config. */
export function architectureFor(
  modelType: unknown,
  where: string,
  file: string,
): Architecture<unknown> {
  const architecture = typeof modelType === 'string' ? ARCHITECTURES.get(modelType) : undefined;
  if (!architecture) {
    fail(
      where,
      `${file}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    );
  }
  return architecture;
}
