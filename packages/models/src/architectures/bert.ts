import { add, type Device, type Tensor, tensor } from '@qkv/tensor';
import type { ForwardContext } from '../forward-context.js';
import { activation, Embedding, LayerNorm, Linear, mergeHeads, splitHeads } from '../modules.js';
import {
  type Architecture,
  type ConfigJson,
  ConfigReader,
  type Network,
  type NetworkOutput,
  type Weights,
} from './architecture.js';

// BERT as transformers' modeling_bert.py (BertModel without the pooler): word + position +
// token-type embeddings, bidirectional attention, post-LN (the residual is added before each
// LayerNorm), exact GELU.

export interface BertConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly maxPositions: number;
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly activation: string;
}

const linearAt = (w: Weights, name: string) => new Linear(w, name, { bias: true });
const layerNormAt = (w: Weights, name: string, eps: number) => new LayerNorm(w, name, eps);

class BertEmbeddings {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;

  constructor(w: Weights, config: BertConfig) {
    this.word_embeddings = new Embedding(w, 'embeddings.word_embeddings');
    this.position_embeddings = new Embedding(w, 'embeddings.position_embeddings');
    this.token_type_embeddings = new Embedding(w, 'embeddings.token_type_embeddings');
    this.LayerNorm = layerNormAt(w, 'embeddings.LayerNorm', config.layerNormEps);
  }

  forward(ids: Tensor, types: Tensor, positions: Tensor): Tensor {
    const x = add(
      add(this.word_embeddings.forward(ids), this.token_type_embeddings.forward(types)),
      this.position_embeddings.forward(positions),
    );
    return this.LayerNorm.forward(x);
  }
}

class BertLayer {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  /** attention.output.dense and attention.output.LayerNorm */
  readonly attentionOutput: { dense: Linear; LayerNorm: LayerNorm };
  readonly intermediate: { dense: Linear };
  readonly output: { dense: Linear; LayerNorm: LayerNorm };
  readonly act: (x: Tensor) => Tensor;

  constructor(
    w: Weights,
    p: string,
    readonly config: BertConfig,
  ) {
    const eps = config.layerNormEps;
    this.query = linearAt(w, `${p}attention.self.query`);
    this.key = linearAt(w, `${p}attention.self.key`);
    this.value = linearAt(w, `${p}attention.self.value`);
    this.attentionOutput = {
      dense: linearAt(w, `${p}attention.output.dense`),
      LayerNorm: layerNormAt(w, `${p}attention.output.LayerNorm`, eps),
    };
    this.intermediate = { dense: linearAt(w, `${p}intermediate.dense`) };
    this.output = {
      dense: linearAt(w, `${p}output.dense`),
      LayerNorm: layerNormAt(w, `${p}output.LayerNorm`, eps),
    };
    this.act = activation(config.activation, 'bert hidden_act');
  }

  forward(x: Tensor, layer: number, ctx: ForwardContext): Tensor {
    const n = this.config.numHeads;
    const heads = (m: Linear) => splitHeads(m.forward(x), n);
    const context = mergeHeads(
      ctx.attend(layer, heads(this.query), heads(this.key), heads(this.value)),
    );
    const h = this.attentionOutput.LayerNorm.forward(
      add(this.attentionOutput.dense.forward(context), x),
    );
    const m = this.act(this.intermediate.dense.forward(h));
    return this.output.LayerNorm.forward(add(this.output.dense.forward(m), h));
  }
}

class BertModel implements Network {
  readonly embeddings: BertEmbeddings;
  readonly layer: BertLayer[];
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly typeVocabSize: number;
  readonly causal = false;

  constructor(
    readonly config: BertConfig,
    w: Weights,
    readonly device: Device,
  ) {
    this.embeddings = new BertEmbeddings(w, config);
    this.layer = Array.from(
      { length: config.numLayers },
      (_, i) => new BertLayer(w, `encoder.layer.${i}.`, config),
    );
    this.numLayers = config.numLayers;
    this.numKvHeads = config.numHeads;
    this.headDim = config.hiddenSize / config.numHeads;
    this.vocabSize = config.vocabSize;
    this.maxPositions = config.maxPositions;
    this.typeVocabSize = config.typeVocabSize;
  }

  forward(ids: Tensor, ctx: ForwardContext, tokenTypeIds?: Tensor): NetworkOutput {
    const options = { dtype: 'int32' as const, device: this.device };
    const shape = [ctx.batch, ctx.length];
    const types = tokenTypeIds ?? tensor(new Int32Array(ctx.batch * ctx.length), shape, options);
    const positions = tensor(ctx.positions, shape, options);
    let x = this.embeddings.forward(ids, types, positions);
    this.layer.forEach((layer, i) => {
      x = layer.forward(x, i, ctx);
    });
    return { hidden: x };
  }
}

export const bert: Architecture<BertConfig> = {
  modelTypes: ['bert'],
  kind: 'encoder',
  parseConfig(json: ConfigJson): BertConfig {
    const r = new ConfigReader(json, 'bert');
    const hiddenSize = r.int('hidden_size');
    const numHeads = r.int('num_attention_heads');
    if (hiddenSize % numHeads !== 0) {
      r.fail('hidden_size', `a multiple of num_attention_heads (${numHeads})`, hiddenSize);
    }
    if (r.string('position_embedding_type', 'absolute') !== 'absolute') {
      r.fail(
        'position_embedding_type',
        '"absolute" (relative BERT variants are not supported)',
        json.position_embedding_type,
      );
    }
    return {
      vocabSize: r.int('vocab_size'),
      hiddenSize,
      numLayers: r.int('num_hidden_layers'),
      numHeads,
      intermediateSize: r.int('intermediate_size'),
      maxPositions: r.int('max_position_embeddings'),
      typeVocabSize: r.int('type_vocab_size', 2),
      layerNormEps: r.number('layer_norm_eps', 1e-12),
      activation: r.string('hidden_act', 'gelu'),
    };
  },
  parameters(c) {
    const h = c.hiddenSize;
    const shapes = new Map<string, readonly number[]>([
      ['embeddings.word_embeddings.weight', [c.vocabSize, h]],
      ['embeddings.position_embeddings.weight', [c.maxPositions, h]],
      ['embeddings.token_type_embeddings.weight', [c.typeVocabSize, h]],
      ['embeddings.LayerNorm.weight', [h]],
      ['embeddings.LayerNorm.bias', [h]],
    ]);
    for (let i = 0; i < c.numLayers; i++) {
      const p = `encoder.layer.${i}.`;
      const dense = (name: string, out: number, inp: number) => {
        shapes.set(`${p}${name}.weight`, [out, inp]);
        shapes.set(`${p}${name}.bias`, [out]);
      };
      dense('attention.self.query', h, h);
      dense('attention.self.key', h, h);
      dense('attention.self.value', h, h);
      dense('attention.output.dense', h, h);
      dense('intermediate.dense', c.intermediateSize, h);
      dense('output.dense', h, c.intermediateSize);
      for (const norm of ['attention.output.LayerNorm', 'output.LayerNorm']) {
        shapes.set(`${p}${norm}.weight`, [h]);
        shapes.set(`${p}${norm}.bias`, [h]);
      }
    }
    return shapes;
  },
  // BertFor* heads save the encoder under `bert.`; older checkpoints name LayerNorm's
  // parameters gamma / beta.
  canonicalName(name) {
    const bare = name.startsWith('bert.') ? name.slice('bert.'.length) : name;
    return bare
      .replace(/LayerNorm\.gamma$/, 'LayerNorm.weight')
      .replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  },
  build: (config, weights, device) => new BertModel(config, weights, device),
};
