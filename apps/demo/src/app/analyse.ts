import { QkvError } from '@qkv/tensor';
import { embedTokens } from '../model/embeddings.js';
import { attentionLayer } from '../model/layer.js';
import { tokenize } from '../model/tokens.js';
import type { Projections } from '../model/weights.js';
import type { Analysis, Settings } from './state.js';

/**
 * Tokenize, embed (seeded), and run one multi-head attention layer: everything the views
 * draw. Self-attention uses the sentence for queries, keys and values; cross-attention takes
 * keys and values from the second sequence.
 */
export async function analyse(settings: Settings, projections: Projections): Promise<Analysis> {
  const tokens = await tokenize(settings.text, settings.encoding);
  if (tokens.length === 0)
    throw new QkvError('analyse: the sentence has no tokens; type some text');
  const cross = settings.mode === 'cross';
  const keyTokens = cross ? await tokenize(settings.crossText, settings.encoding) : tokens;
  if (keyTokens.length === 0) {
    throw new QkvError('analyse: the second sequence has no tokens; type some text');
  }
  const d = projections.dModel;
  const x = embedTokens(
    tokens.map((t) => t.id),
    d,
    settings.seed,
  );
  const memory = cross
    ? embedTokens(
        keyTokens.map((t) => t.id),
        d,
        settings.seed,
      )
    : x;
  try {
    const layer = attentionLayer({
      x,
      memory,
      projections,
      numHeads: settings.numHeads,
      causal: settings.causal && !cross,
      positions: settings.positions,
    });
    return { tokens, keyTokens, layer, projections };
  } finally {
    x.dispose();
    memory.dispose();
  }
}
