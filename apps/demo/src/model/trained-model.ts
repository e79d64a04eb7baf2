// The Train view's model as a CurrentModel, so the model, heads and next-token views draw it.
import { type Device, softmax, type Tensor, tensor } from '@qkv/tensor';
import { attentionPatterns, forward, type Parameters, type TransformerConfig } from '@qkv/train';
import type { CurrentModel, ModelToken, NextToken } from './current-model.js';
import type { MatrixStack } from './matrix.js';

/**
 * Characters as tokens 0–31 of the model's vocabulary: a–z are 0–25, the space 26, and every
 * other character one of 27–31 (by its code point). The model was trained on random tokens, so the
 * letters carry no meaning; what it learned is to copy what followed a token's last occurrence.
 */
export function characterTokens(text: string, limit: number): ModelToken[] {
  return Array.from(text.toLowerCase())
    .slice(0, limit)
    .map((c) => {
      const code = c.codePointAt(0)!;
      const id = c >= 'a' && c <= 'z' ? code - 97 : c === ' ' ? 26 : 27 + (code % 5);
      return { id, text: tokenText(id) };
    });
}

function tokenText(id: number): string {
  return id < 26 ? String.fromCharCode(97 + id) : id === 26 ? '␣' : `#${id}`;
}

async function host(t: Tensor): Promise<Float32Array> {
  return Float32Array.from((await t.data()) as ArrayLike<number>);
}

export interface TrainedModelOptions {
  config: TransformerConfig;
  /** Owned by the model from here on (freed by `dispose`). */
  params: Parameters;
  device: Device;
  /** Where it runs, for the label. */
  deviceName: string;
  step: number;
  seed: number;
}

/** The transformer trained in the Train view, at one step, as the views' current model. */
export function trainedModel(options: TrainedModelOptions): CurrentModel {
  const { config, params, device } = options;
  const ids = (list: readonly number[]) =>
    tensor(Int32Array.from(list), [1, list.length], { dtype: 'int32', device });
  const nextTokens = async (list: readonly number[], k: number): Promise<NextToken[]> => {
    const input = ids(list);
    const logits = forward(config, params, input);
    const v = config.vocabSize;
    const last = logits.reshape([list.length, v]);
    const probabilities = softmax(last, -1);
    try {
      const p = (await host(probabilities)).subarray((list.length - 1) * v);
      return Array.from(p, (probability, id) => ({ id, text: tokenText(id), probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, k);
    } finally {
      for (const t of [input, logits, last, probabilities]) t.dispose();
    }
  };
  return {
    label: `attention-only transformer trained here, seed ${options.seed}, step ${options.step} (${config.numLayers} layers × ${config.numHeads} heads; reads the first ${config.contextLength} characters) on ${options.deviceName}`,
    // Also at step 0 (its label says so): the heads view draws only `trained` models' layers.
    trained: true,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    probeRange: [0, config.vocabSize],
    maxPositions: config.contextLength,
    probePrefix: [],
    async tokenize(text) {
      return characterTokens(text, config.contextLength);
    },
    async attentions(list) {
      const input = ids(list);
      const layers = attentionPatterns(config, params, input);
      try {
        const out: MatrixStack[] = [];
        for (const layer of layers) {
          out.push({
            count: config.numHeads,
            rows: list.length,
            cols: list.length,
            data: await host(layer),
          });
        }
        return out;
      } finally {
        input.dispose();
        for (const layer of layers) layer.dispose();
      }
    },
    nextTokens,
    decoding: `greedy, running the whole text again for each token (no KV cache; past ${config.contextLength} tokens, the latest ${config.contextLength})`,
    async generate(list, maxNewTokens, onToken) {
      const out = [...list];
      for (let i = 0; i < maxNewTokens; i++) {
        // Past the context, the model reads the latest contextLength tokens.
        const [best] = await nextTokens(out.slice(-config.contextLength), 1);
        out.push(best!.id);
        onToken(best!);
      }
      return out.slice(list.length);
    },
    dispose() {
      for (const p of params.values()) p.dispose();
    },
  };
}
