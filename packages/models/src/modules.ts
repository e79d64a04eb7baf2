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
  transpose,
} from '@qkv/tensor';
import { fail } from './errors.js';

// The building blocks the architectures share, named like their torch.nn / transformers
// counterparts. Each holds the parameters it was given; dispose() releases them.

/**
 * Transpose a loaded weight once and release the original. WebGPU's matmul reads a
 * transposed right operand several times slower than a row-major one (7-8x on SwiftShader at
 * GPT-2's shapes; the CPU is indifferent), so weights are kept in the layout matmul wants.
 */
function transposedOnce(weight: Tensor): Tensor {
  const t = transpose(weight);
  weight.dispose();
  return t;
}

/** `x [..., K] · w [K, N] (+ b)` over the flattened leading dimensions. */
function project(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const product = matmul(x.reshape([-1, x.shape[x.rank - 1]!]), w);
  const out = bias ? add(product, bias) : product;
  return out.reshape([...x.shape.slice(0, -1), w.shape[1]!]);
}

/** `torch.nn.Linear`: the checkpoint's weight is `[out, in]`, y = x Wᵀ + b. */
export class Linear {
  /** `weight` transposed to `[in, out]` at load (see `transposedOnce`). */
  readonly weightT: Tensor;

  constructor(
    weight: Tensor,
    readonly bias?: Tensor,
  ) {
    this.weightT = transposedOnce(weight);
  }

  forward(x: Tensor): Tensor {
    return project(x, this.weightT, this.bias);
  }

  dispose(): void {
    this.weightT.dispose();
    this.bias?.dispose();
  }
}

/** transformers' `Conv1D` (GPT-2): weight stored `[in, out]`, y = x W + b. */
export class Conv1D {
  constructor(
    readonly weight: Tensor,
    readonly bias: Tensor,
  ) {}

  forward(x: Tensor): Tensor {
    return project(x, this.weight, this.bias);
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** `torch.nn.LayerNorm` over the last dimension. */
export class LayerNorm {
  constructor(
    readonly weight: Tensor,
    readonly bias: Tensor,
    readonly eps: number,
  ) {}

  forward(x: Tensor): Tensor {
    return layerNorm(x, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** Llama's `RMSNorm`: x / sqrt(mean(x²) + eps) · weight. */
export class RmsNorm {
  constructor(
    readonly weight: Tensor,
    readonly eps: number,
  ) {}

  forward(x: Tensor): Tensor {
    return rmsNorm(x, { weight: this.weight, eps: this.eps });
  }

  dispose(): void {
    this.weight.dispose();
  }
}

/** `torch.nn.Embedding`: rows of weight `[num, dim]` by int32 ids of any shape. */
export class Embedding {
  constructor(readonly weight: Tensor) {}

  forward(ids: Tensor): Tensor {
    return gather(this.weight, ids, 0);
  }

  dispose(): void {
    this.weight.dispose();
  }
}

/**
 * A token embedding that is also the LM head (`tie_word_embeddings`): kept transposed,
 * `[dim, vocab]`, so the head is a plain matmul (see `transposedOnce`) and the lookup a
 * gather along the vocabulary axis, without a second copy of the table.
 */
export class TiedEmbedding {
  readonly weightT: Tensor;

  constructor(weight: Tensor) {
    this.weightT = transposedOnce(weight);
  }

  /** ids `[B, L]` → `[B, L, dim]`. */
  forward(ids: Tensor): Tensor {
    return permute(gather(this.weightT, ids, 1), [1, 2, 0]);
  }

  /** hidden `[..., dim]` → logits `[..., vocab]`. */
  logits(hidden: Tensor): Tensor {
    return project(hidden, this.weightT);
  }

  dispose(): void {
    this.weightT.dispose();
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
