import {
  add,
  gather,
  gelu,
  geluTanh,
  layerNorm,
  matmul,
  permute,
  relu,
  rmsNorm,
  silu,
  type Tensor,
} from '@qkv/tensor';
import type { Param, Weights } from './architectures/architecture.js';
import { fail } from './errors.js';

// The building blocks the architectures share, named like their torch.nn / transformers
// counterparts. Each reads its parameters from the model's live map (`Param`) at every
// forward; the model owns and releases them.

/** `x [..., K] · w [K, N] (+ b)` over the flattened leading dimensions. */
function project(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const product = matmul(x.reshape([-1, x.shape[x.rank - 1]!]), w);
  const out = bias ? add(product, bias) : product;
  return out.reshape([...x.shape.slice(0, -1), w.shape[1]!]);
}

/**
 * `torch.nn.Linear`: the checkpoint's weight is `[out, in]`, y = x Wᵀ + b. The weight is
 * held transposed, `[in, out]` (`Weights.takeTransposed`).
 */
export class Linear {
  readonly weightT: Param;
  readonly bias: Param | undefined;

  constructor(w: Weights, prefix: string, options: { bias: boolean | 'optional' }) {
    this.weightT = w.takeTransposed(`${prefix}.weight`);
    const biasName = `${prefix}.bias`;
    const hasBias = options.bias === 'optional' ? w.has(biasName) : options.bias;
    this.bias = hasBias ? w.take(biasName) : undefined;
  }

  forward(x: Tensor): Tensor {
    return project(x, this.weightT.value, this.bias?.value);
  }
}

/** transformers' `Conv1D` (GPT-2): weight stored `[in, out]`, y = x W + b. */
export class Conv1D {
  readonly weight: Param;
  readonly bias: Param;

  constructor(w: Weights, prefix: string) {
    this.weight = w.take(`${prefix}.weight`);
    this.bias = w.take(`${prefix}.bias`);
  }

  forward(x: Tensor): Tensor {
    return project(x, this.weight.value, this.bias.value);
  }
}

/** `torch.nn.LayerNorm` over the last dimension. */
export class LayerNorm {
  readonly weight: Param;
  readonly bias: Param;

  constructor(
    w: Weights,
    prefix: string,
    readonly eps: number,
  ) {
    this.weight = w.take(`${prefix}.weight`);
    this.bias = w.take(`${prefix}.bias`);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, { weight: this.weight.value, bias: this.bias.value, eps: this.eps });
  }
}

/** Llama's `RMSNorm`: x / sqrt(mean(x²) + eps) · weight. */
export class RmsNorm {
  readonly weight: Param;

  constructor(
    w: Weights,
    prefix: string,
    readonly eps: number,
  ) {
    this.weight = w.take(`${prefix}.weight`);
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, { weight: this.weight.value, eps: this.eps });
  }
}

/** `torch.nn.Embedding`: rows of weight `[num, dim]` by int32 ids of any shape. */
export class Embedding {
  readonly weight: Param;

  constructor(w: Weights, prefix: string) {
    this.weight = w.take(`${prefix}.weight`);
  }

  forward(ids: Tensor): Tensor {
    return gather(this.weight.value, ids, 0);
  }
}

/**
 * A token embedding that is also the LM head (`tie_word_embeddings`): held transposed,
 * `[dim, vocab]`, so the head is a plain matmul (`Weights.takeTransposed`) and the lookup a
 * gather along the vocabulary axis, without a second copy of the table.
 */
export class TiedEmbedding {
  readonly weightT: Param;

  constructor(w: Weights, prefix: string) {
    this.weightT = w.takeTransposed(`${prefix}.weight`);
  }

  /** ids `[B, L]` → `[B, L, dim]`. */
  forward(ids: Tensor): Tensor {
    return permute(gather(this.weightT.value, ids, 1), [1, 2, 0]);
  }

  /** hidden `[..., dim]` → logits `[..., vocab]`. */
  logits(hidden: Tensor): Tensor {
    return project(hidden, this.weightT.value);
  }
}

/** transformers' `ACT2FN` names for the activations these models use. */
export function activation(name: string, where: string): (x: Tensor) => Tensor {
  switch (name) {
    case 'gelu':
      return gelu;
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return geluTanh;
    case 'silu':
    case 'swish':
      return silu;
    case 'relu':
      return relu;
    default:
      return fail(
        'loadModel',
        `${where}: activation "${name}" is not supported (gelu, gelu_new, gelu_pytorch_tanh, silu, relu)`,
      );
  }
}

/** `[B, L, H·D]` → `[B, H, L, D]`. */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, l, width] = x.shape as [number, number, number];
  const view = x.reshape([b, l, heads, width / heads]);
  return permute(view, [0, 2, 1, 3]);
}

/** `[B, H, L, D]` → `[B, L, H·D]`. */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, l, d] = x.shape as [number, number, number, number];
  return permute(x, [0, 2, 1, 3]).reshape([b, l, h * d]);
}
