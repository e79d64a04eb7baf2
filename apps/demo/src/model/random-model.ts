import type { CurrentModel } from './current-model.js';
import { embedTokens } from './embeddings.js';
import { attentionLayer, type PositionScheme } from './layer.js';
import { tokenize } from './tokens.js';
import type { Projections } from './weights.js';

export interface RandomModelSettings {
  encoding: string;
  numHeads: number;
  seed: number;
  causal: boolean;
  positions: PositionScheme;
}

/**
 * The seeded random layer as a CurrentModel: one attention layer over seeded token vectors.
 * Nothing in it was learned, so `trained` is false and the page says its patterns are chance.
 */
export function randomLayerModel(
  settings: RandomModelSettings,
  projections: Projections,
): CurrentModel {
  return {
    label: `${projections.source} (1 layer × ${settings.numHeads} heads, untrained)`,
    trained: false,
    numLayers: 1,
    numHeads: settings.numHeads,
    // Ordinary word pieces of the OpenAI encodings.
    probeRange: [1000, 20000],
    probePrefix: [],
    async tokenize(text) {
      return (await tokenize(text, settings.encoding)).map(({ id, text: t }) => ({ id, text: t }));
    },
    async attentions(ids) {
      const x = embedTokens(ids, projections.dModel, settings.seed);
      try {
        const layer = attentionLayer({
          x,
          memory: x,
          projections,
          numHeads: settings.numHeads,
          causal: settings.causal,
          positions: settings.positions,
        });
        return [layer.weights];
      } finally {
        x.dispose();
      }
    },
    dispose() {},
  };
}
