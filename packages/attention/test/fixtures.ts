import { readFileSync } from 'node:fs';
import type { CaseContext } from '@qkv/conformance';
import type { DType, Tensor } from '@qkv/tensor';

/** A tensor as the generator writes it. */
export interface Encoded {
  shape: number[];
  dtype: 'float32' | 'bool';
  data: number[];
}

export interface SdpaFixture {
  name: string;
  q: Encoded;
  k: Encoded;
  v: Encoded;
  mask: Encoded | null;
  options: {
    is_causal?: boolean;
    alignment?: 'top-left' | 'bottom-right';
    scale?: number;
    enable_gqa?: boolean;
  };
  output: Encoded;
  weights: Encoded;
}

export interface MhaFixture {
  name: string;
  config: {
    embed_dim: number;
    num_heads: number;
    kdim?: number;
    vdim?: number;
    bias?: boolean;
    add_bias_kv?: boolean;
    add_zero_attn?: boolean;
  };
  state: Record<string, Encoded>;
  query: Encoded;
  key: Encoded;
  value: Encoded;
  keyPaddingMask: Encoded | null;
  attnMask: Encoded | null;
  averageAttnWeights: boolean;
  output: Encoded;
  weights: Encoded;
}

/** Golden values written by `fixtures/generate.py` from PyTorch. */
export const torchFixtures = JSON.parse(
  readFileSync(new URL('../fixtures/torch-attention.json', import.meta.url), 'utf8'),
) as { torch: string; sdpa: SdpaFixture[]; mha: MhaFixture[] };

/** The fixture tensor on the device under test (disposed after the case). */
export function load(ctx: CaseContext, e: Encoded): Tensor {
  return ctx.tensor(e.data, e.shape, e.dtype as DType);
}

/** Float32 kernels against float64 PyTorch references. */
export const FIXTURE_TOLERANCE = { atol: 2e-6, rtol: 2e-5 };
