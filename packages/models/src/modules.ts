import {
  add,
  gather,
  gelu,
  geluTanh,
  layerNorm,
  linear,
  matmul,
  permute,
  relu,
  rmsNorm,
  silu,
  type Tensor,
} from '@qkv/tensor';
import { fail } from './errors.js';

// The building blocks the architectures share, named like their torch.nn / transformers
// counterparts. Each holds the parameters it was given; dispose() releases them.

/** `torch.nn.Linear`: weight `[out, in]`, y = x Wᵀ + b. */
export class Linear {
  constructor(
    readonly weight: Tensor,
    readonly bias?: Tensor,
  ) {}

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  dispose(): void {
    this.weight.dispose();
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
    const flat = x.reshape([-1, x.shape[x.rank - 1]!]);
    const product = matmul(flat, this.weight);
    const out = add(product, this.bias);
    return out.reshape([...x.shape.slice(0, -1), this.weight.shape[1]!]);
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
