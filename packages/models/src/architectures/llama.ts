import { type HfRopeConfigJson, RotaryEmbedding, ropeOptionsFromHfConfig } from '@qkv/positional';
import { add, type Device, mul, type Tensor } from '@qkv/tensor';
import type { ForwardContext } from '../forward-context.js';
import {
  activation,
  Embedding,
  Linear,
  mergeHeads,
  RmsNorm,
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

// Llama as transformers' modeling_llama.py (LlamaForCausalLM), which Mistral and Qwen2 follow:
// RMSNorm before attention and MLP, rotary positions, grouped-query attention, SwiGLU.
// Qwen2 adds biases to q, k and v; Mistral restricts attention to a sliding window.

export interface LlamaConfig {
  readonly modelType: 'llama' | 'mistral' | 'qwen2';
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly activation: string;
  readonly tieWordEmbeddings: boolean;
  readonly qkvBias: boolean;
  readonly outputBias: boolean;
  readonly mlpBias: boolean;
  readonly slidingWindow: number | undefined;
  readonly rope: HfRopeConfigJson;
}

class LlamaAttention {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;

  constructor(
    w: Weights,
    p: string,
    readonly config: LlamaConfig,
    readonly rotary: RotaryEmbedding,
  ) {
    const proj = (n: string) => new Linear(w, `${p}${n}`, { bias: 'optional' });
    this.q_proj = proj('q_proj');
    this.k_proj = proj('k_proj');
    this.v_proj = proj('v_proj');
    this.o_proj = proj('o_proj');
  }

  forward(x: Tensor, layer: number, ctx: ForwardContext): Tensor {
    const { numHeads, numKvHeads } = this.config;
    const positions = { positions: ctx.positions };
    const q = this.rotary.apply(splitHeads(this.q_proj.forward(x), numHeads), positions);
    const k = this.rotary.apply(splitHeads(this.k_proj.forward(x), numKvHeads), positions);
    const v = splitHeads(this.v_proj.forward(x), numKvHeads);
    return this.o_proj.forward(mergeHeads(ctx.attend(layer, q, k, v)));
  }
}

/** SwiGLU (Shazeer 2020): down(act(gate(x)) · up(x)). */
class LlamaMlp {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;
  readonly act: (x: Tensor) => Tensor;

  constructor(w: Weights, p: string, config: LlamaConfig) {
    const proj = (n: string) => new Linear(w, `${p}${n}`, { bias: 'optional' });
    this.gate_proj = proj('gate_proj');
    this.up_proj = proj('up_proj');
    this.down_proj = proj('down_proj');
    this.act = activation(config.activation, `${config.modelType} hidden_act`);
  }

  forward(x: Tensor): Tensor {
    return this.down_proj.forward(
      mul(this.act(this.gate_proj.forward(x)), this.up_proj.forward(x)),
    );
  }
}

class LlamaDecoderLayer {
  readonly input_layernorm: RmsNorm;
  readonly self_attn: LlamaAttention;
  readonly post_attention_layernorm: RmsNorm;
  readonly mlp: LlamaMlp;

  constructor(w: Weights, p: string, config: LlamaConfig, rotary: RotaryEmbedding) {
    const eps = config.rmsNormEps;
    this.input_layernorm = new RmsNorm(w, `${p}input_layernorm`, eps);
    this.self_attn = new LlamaAttention(w, `${p}self_attn.`, config, rotary);
    this.post_attention_layernorm = new RmsNorm(w, `${p}post_attention_layernorm`, eps);
    this.mlp = new LlamaMlp(w, `${p}mlp.`, config);
  }

  forward(x: Tensor, layer: number, ctx: ForwardContext): Tensor {
    const h = add(x, this.self_attn.forward(this.input_layernorm.forward(x), layer, ctx));
    return add(h, this.mlp.forward(this.post_attention_layernorm.forward(h)));
  }
}

class LlamaForCausalLM implements Network {
  readonly embed_tokens: Embedding | TiedEmbedding;
  readonly layers: LlamaDecoderLayer[];
  readonly norm: RmsNorm;
  /** Absent when tie_word_embeddings: the head is embed_tokens. */
  readonly lm_head: Linear | undefined;
  readonly rotary: RotaryEmbedding;
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositions = undefined;
  readonly causal = true;
  readonly slidingWindow: number | undefined;

  constructor(
    readonly config: LlamaConfig,
    w: Weights,
  ) {
    this.rotary = new RotaryEmbedding(ropeOptionsFromHfConfig(config.rope));
    this.embed_tokens = config.tieWordEmbeddings
      ? new TiedEmbedding(w, 'model.embed_tokens')
      : new Embedding(w, 'model.embed_tokens');
    this.layers = Array.from(
      { length: config.numLayers },
      (_, i) => new LlamaDecoderLayer(w, `model.layers.${i}.`, config, this.rotary),
    );
    this.norm = new RmsNorm(w, 'model.norm', config.rmsNormEps);
    this.lm_head = config.tieWordEmbeddings ? undefined : new Linear(w, 'lm_head', { bias: false });
    this.numLayers = config.numLayers;
    this.numKvHeads = config.numKvHeads;
    this.headDim = config.headDim;
    this.vocabSize = config.vocabSize;
    this.slidingWindow = config.slidingWindow;
  }

  forward(ids: Tensor, ctx: ForwardContext): NetworkOutput {
    let x = this.embed_tokens.forward(ids);
    this.layers.forEach((layer, i) => {
      x = layer.forward(x, i, ctx);
    });
    return { hidden: this.norm.forward(x) };
  }

  lmHead(hidden: Tensor): Tensor {
    return this.embed_tokens instanceof TiedEmbedding
      ? this.embed_tokens.logits(hidden)
      : this.lm_head!.forward(hidden);
  }

  dispose(): void {
    this.rotary.dispose();
  }
}

function parseConfig(json: ConfigJson): LlamaConfig {
  const modelType = json.model_type as LlamaConfig['modelType'];
  const r = new ConfigReader(json, modelType);
  const hiddenSize = r.int('hidden_size');
  const numHeads = r.int('num_attention_heads');
  const numKvHeads = json.num_key_value_heads == null ? numHeads : r.int('num_key_value_heads');
  if (numHeads % numKvHeads !== 0) {
    r.fail('num_key_value_heads', `a divisor of num_attention_heads (${numHeads})`, numKvHeads);
  }
  const headDim = json.head_dim == null ? hiddenSize / numHeads : r.int('head_dim');
  if (!Number.isInteger(headDim)) {
    r.fail('hidden_size', `a multiple of num_attention_heads (${numHeads})`, hiddenSize);
  }
  let slidingWindow: number | undefined;
  if (modelType === 'mistral' && json.sliding_window != null)
    slidingWindow = r.int('sliding_window');
  if (modelType === 'qwen2' && json.use_sliding_window === true) {
    r.fail('use_sliding_window', 'false (Qwen2 per-layer sliding windows are not supported)', true);
  }
  const attentionBias = r.bool('attention_bias', false);
  return {
    modelType,
    vocabSize: r.int('vocab_size'),
    hiddenSize,
    intermediateSize: r.int('intermediate_size'),
    numLayers: r.int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: r.number('rms_norm_eps', 1e-6),
    activation: r.string('hidden_act', 'silu'),
    // LlamaConfig, MistralConfig and Qwen2Config all default to untied heads.
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    qkvBias: modelType === 'qwen2' || attentionBias,
    outputBias: attentionBias,
    mlpBias: r.bool('mlp_bias', false),
    slidingWindow,
    rope: { ...(json as HfRopeConfigJson), head_dim: headDim },
  };
}

export const llama: Architecture<LlamaConfig> = {
  modelTypes: ['llama', 'mistral', 'qwen2'],
  kind: 'causal-lm',
  parseConfig,
  parameters(c) {
    const h = c.hiddenSize;
    const q = c.numHeads * c.headDim;
    const kv = c.numKvHeads * c.headDim;
    const shapes = new Map<string, readonly number[]>([
      ['model.embed_tokens.weight', [c.vocabSize, h]],
      ['model.norm.weight', [h]],
    ]);
    if (!c.tieWordEmbeddings) shapes.set('lm_head.weight', [c.vocabSize, h]);
    for (let i = 0; i < c.numLayers; i++) {
      const p = `model.layers.${i}.`;
      const add = (name: string, shape: number[], bias: boolean) => {
        shapes.set(`${p}${name}.weight`, shape);
        if (bias) shapes.set(`${p}${name}.bias`, [shape[0]!]);
      };
      shapes.set(`${p}input_layernorm.weight`, [h]);
      shapes.set(`${p}post_attention_layernorm.weight`, [h]);
      add('self_attn.q_proj', [q, h], c.qkvBias);
      add('self_attn.k_proj', [kv, h], c.qkvBias);
      add('self_attn.v_proj', [kv, h], c.qkvBias);
      add('self_attn.o_proj', [h, q], c.outputBias);
      add('mlp.gate_proj', [c.intermediateSize, h], c.mlpBias);
      add('mlp.up_proj', [c.intermediateSize, h], c.mlpBias);
      add('mlp.down_proj', [h, c.intermediateSize], c.mlpBias);
    }
    return shapes;
  },
  // Rotary inv_freq buffers some older checkpoints carry are recomputed from the config.
  canonicalName: (name) => (name.endsWith('rotary_emb.inv_freq') ? undefined : name),
  build: (config, weights, _device: Device) => new LlamaForCausalLM(config, weights),
};
