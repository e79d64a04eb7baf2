import { attention, type Tensor } from '@qkv/tensor';
import type { AttentionPath, Suite, SuiteContext } from '../suite.js';
import {
  assertClose,
  contextDevice,
  isSoftwareDevice,
  measureOp,
  normalData,
  sizesFor,
  upload,
} from './common.js';

/**
 * Decoding: L = 1 (and 4, speculative decoding's draft check) new queries attend to S cached
 * keys, with no mask (every cached key precedes the new queries). The work is linear in S and
 * bound by reading K and V, so the fused kernel's one-query-row-per-invocation layout leaves
 * most of the GPU idle; `@qkv/kernels` has a decode path that splits S across workgroups.
 * On WebGPU both paths are forced in turn (`qkv fused`, `qkv decode`) after checking they
 * agree; elsewhere `qkv` is the op's only path. Grouped-query attention (8 query heads per
 * key / value head, as Llama 2 70B and Mistral 7B) reads 8x less cache.
 */

const HEAD_DIM = 128;

interface DecodeDims {
  heads: number;
  kvHeads: number;
  queries: number;
  cached: number;
}

export const decodeSuite: Suite = {
  name: 'decode',
  description:
    'attention of 1 or 4 new queries over S cached keys: fused vs decode path, MHA and GQA 8:1',
  async run(ctx) {
    const software = isSoftwareDevice(contextDevice(ctx));
    const lengths = sizesFor(ctx, {
      quick: [64, 100],
      small: [256, 1024, 4096],
      large: [256, 1024, 4096, 8192, 16384, 32768],
    });
    const heads = ctx.quick ? 8 : software ? 8 : 32;
    const queryCounts = ctx.quick ? [1] : [1, 4];
    for (const kvHeads of [heads, heads / 8]) {
      for (const queries of queryCounts) {
        for (const [i, cached] of lengths.entries()) {
          await decodeCase(ctx, { heads, kvHeads, queries, cached }, 700 + 10 * i + queries);
        }
      }
    }
  },
};

const PATHS: readonly AttentionPath[] = ['fused', 'decode'];

async function decodeCase(ctx: SuiteContext, dims: DecodeDims, seed: number): Promise<void> {
  const { heads, kvHeads, queries, cached } = dims;
  const qShape = [1, heads, queries, HEAD_DIM];
  const kvShape = [1, kvHeads, cached, HEAD_DIM];
  const q = upload(ctx, normalData(heads * queries * HEAD_DIM, seed), qShape);
  const [k, v] = [1, 2].map((j) =>
    upload(ctx, normalData(kvHeads * cached * HEAD_DIM, seed + 1000 * j), kvShape),
  ) as [Tensor, Tensor];
  const run = () => attention(q, k, v, { enableGqa: kvHeads !== heads });
  const group = heads / kvHeads;
  const params = { heads, kvHeads, queries, cached, headDim: HEAD_DIM };
  const options = {
    // q·k and p·v: 2 multiply-adds per (query, key, dim) per head.
    flops: 4 * heads * queries * cached * HEAD_DIM,
    // The K / V cache dominates the bytes read.
    bytes: 4 * 2 * kvHeads * cached * HEAD_DIM,
    x: 'cached',
    series: `L=${queries} ${group > 1 ? `GQA ${group}:1` : 'MHA'}`,
  };
  const timed = (name: string) => measureOp(ctx, name, params, run, options);
  try {
    const setPath = ctx.setAttentionPath;
    if (!setPath) {
      await timed('qkv');
      return;
    }
    const outputs: Float32Array[] = [];
    const previous = setPath('auto');
    try {
      for (const path of PATHS) {
        setPath(path);
        const out = run();
        outputs.push((await out.data()) as Float32Array);
        out.dispose();
      }
      assertClose(
        `decode ${JSON.stringify(params)}`,
        outputs[1]!,
        outputs[0]!,
        { atol: 1e-4, rtol: 1e-3 },
        ['the decode path', 'the fused path'],
      );
      for (const path of PATHS) {
        setPath(path);
        await timed(`qkv ${path}`);
      }
    } finally {
      setPath(previous as AttentionPath);
    }
  } finally {
    for (const t of [q, k, v]) t.dispose();
  }
}
