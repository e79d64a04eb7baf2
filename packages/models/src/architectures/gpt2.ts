import { add, type Device, slice, type Tensor, tensor } from '@qkv/tensor';
import type { ForwardContext } from '../forward-context.js';
import {
  activation,
  Conv1D,
  Embedding,
  LayerNorm,
  mergeHeads,
  splitHeads,
  TiedEmbedding,
} from '../modules.js';
import {
  type Architecture,
  type ConfigJson,
  ConfigReader,
  type Network,
  type NetworkOutput,
  type Weights,
} from './architecture.js';

// GPT-2 as transformers' modeling_gpt2.py (GPT2LMHeadModel): learned positions, pre-LN blocks,
// Conv1D projections stored [in, out], tanh GELU, and an LM head tied to the token embedding.

export interface Gpt2Config {
  readonly vocabSize: number;
  readonly nEmbd: number;
  readonly nHead: number;
  readonly nLayer: number;
  readonly nPositions: number;
  readonly nInner: number;
  readonly layerNormEpsilon: number;
  readonly activation: string;
}

class Gpt2Attention {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;

  constructor(
    w: Weights,
    prefix: string,
    readonly config: Gpt2Config,
  ) {
    this.c_attn = new Conv1D(w, `${prefix}c_attn`);
    this.c_proj = new Conv1D(w, `${prefix}c_proj`);
  }

  forward(x: Tensor, layer: number, ctx: ForwardContext): Tensor {
    const e = this.config.nEmbd;
    const qkv = this.c_attn.forward(x);
    // c_attn's output is [q | k | v] along the last dimension.
    const part = (i: number) =>
      splitHeads(slice(qkv, [null, null, [i * e, (i + 1) * e]]), this.config.nHead);
    const out = ctx.attend(layer, part(0), part(1), part(2));
    return this.c_proj.forward(mergeHeads(out));
  }
}

class Gpt2Mlp {
  readonly c_fc: Conv1D;
  readonly c_proj: Conv1D;
  readonly act: (x: Tensor) => Tensor;

  constructor(w: Weights, prefix: string, config: Gpt2Config) {
    this.c_fc = new Conv1D(w, `${prefix}c_fc`);
    this.c_proj = new Conv1D(w, `${prefix}c_proj`);
    this.act = activation(config.activation, 'gpt2 activation_function');
  }

  forward(x: Tensor): Tensor {
    return this.c_proj.forward(this.act(this.c_fc.forward(x)));
  }
}

class Gpt2Block {
  readonly ln_1: LayerNorm;
  readonly attn: Gpt2Attention;
  readonly ln_2: LayerNorm;
  readonly mlp: Gpt2Mlp;

  constructor(w: Weights, prefix: string, config: Gpt2Config) {
    const eps = config.layerNormEpsilon;
    this.ln_1 = new LayerNorm(w, `${prefix}ln_1`, eps);
    this.attn = new Gpt2Attention(w, `${prefix}attn.`, config);
    this.ln_2 = new LayerNorm(w, `${prefix}ln_2`, eps);
    this.mlp = new Gpt2Mlp(w, `${prefix}mlp.`, config);
  }

  forward(x: Tensor, layer: number, ctx: ForwardContext): Tensor {
    const h = add(x, this.attn.forward(this.ln_1.forward(x), layer, ctx));
    return add(h, this.mlp.forward(this.ln_2.forward(h)));
  }
}

class Gpt2 implements Network {
  readonly wte: TiedEmbedding;
  readonly wpe: Embedding;
  readonly h: Gpt2Block[];
  readonly ln_f: LayerNorm;
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly causal = true;

  constructor(
    readonly config: Gpt2Config,
    w: Weights,
    readonly device: Device,
  ) {
    this.wte = new TiedEmbedding(w, 'wte');
    this.wpe = new Embedding(w, 'wpe');
    this.h = Array.from({ length: config.nLayer }, (_, i) => new Gpt2Block(w, `h.${i}.`, config));
    this.ln_f = new LayerNorm(w, 'ln_f', config.layerNormEpsilon);
    this.numLayers = config.nLayer;
    this.numKvHeads = config.nHead;
    this.headDim = config.nEmbd / config.nHead;
    this.vocabSize = config.vocabSize;
    this.maxPositions = config.nPositions;
  }

  forward(ids: Tensor, ctx: ForwardContext): NetworkOutput {
    const positions = tensor(ctx.positions, [ctx.batch, ctx.length], {
      dtype: 'int32',
      device: this.device,
    });
    let x = add(this.wte.forward(ids), this.wpe.forward(positions));
    this.h.forEach((block, i) => {
      x = block.forward(x, i, ctx);
    });
    return { hidden: this.ln_f.forward(x) };
  }

  lmHead(hidden: Tensor): Tensor {
    // The LM head is the token embedding (tie_word_embeddings).
    return this.wte.logits(hidden);
  }
}

export const gpt2: Architecture<Gpt2Config> = {
  modelTypes: ['gpt2'],
  kind: 'causal-lm',
  parseConfig(json: ConfigJson): Gpt2Config {
    const r = new ConfigReader(json, 'gpt2');
    const nEmbd = r.int('n_embd');
    const nHead = r.int('n_head');
    if (nEmbd % nHead !== 0) r.fail('n_embd', `a multiple of n_head (${nHead})`, nEmbd);
    if (json.scale_attn_by_inverse_layer_idx === true || json.reorder_and_upcast_attn === true) {
      r.fail('scale_attn_by_inverse_layer_idx', 'false (not supported)', true);
    }
    return {
      vocabSize: r.int('vocab_size'),
      nEmbd,
      nHead,
      nLayer: r.int('n_layer'),
      nPositions: r.int('n_positions'),
      nInner: json.n_inner == null ? 4 * nEmbd : r.int('n_inner'),
      layerNormEpsilon: r.number('layer_norm_epsilon', 1e-5),
      activation: r.string('activation_function', 'gelu_new'),
    };
  },
  parameters(c) {
    const e = c.nEmbd;
    const shapes = new Map<string, readonly number[]>([
      ['wte.weight', [c.vocabSize, e]],
      ['wpe.weight', [c.nPositions, e]],
      ['ln_f.weight', [e]],
      ['ln_f.bias', [e]],
    ]);
    for (let i = 0; i < c.nLayer; i++) {
      const p = `h.${i}.`;
      for (const [name, shape] of [
        ['ln_1.weight', [e]],
        ['ln_1.bias', [e]],
        ['attn.c_attn.weight', [e, 3 * e]],
        ['attn.c_attn.bias', [3 * e]],
        ['attn.c_proj.weight', [e, e]],
        ['attn.c_proj.bias', [e]],
        ['ln_2.weight', [e]],
        ['ln_2.bias', [e]],
        ['mlp.c_fc.weight', [e, c.nInner]],
        ['mlp.c_fc.bias', [c.nInner]],
        ['mlp.c_proj.weight', [c.nInner, e]],
        ['mlp.c_proj.bias', [e]],
      ] as const) {
        shapes.set(p + name, shape);
      }
    }
    return shapes;
  },
  canonicalName(name) {
    // GPT2LMHeadModel saves under `transformer.`, GPT2Model without; the causal-mask buffers
    // (`attn.bias`, `attn.masked_bias`) and the tied `lm_head.weight` are not parameters here.
    const bare = name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
    if (bare === 'lm_head.weight' || /\.attn\.(masked_)?bias$/.test(bare)) return undefined;
    return bare;
  },
  build: (config, weights, device) => new Gpt2(config, weights, device),
};
