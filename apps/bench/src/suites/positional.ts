import {
  cpu,
  type Device,
  fromTypedArray,
  Random,
  type RopeStyle,
  rope,
  type Tensor,
} from '@qkv/tensor';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * What a runner may add to the context beyond the shared contract: the device chosen on the
 * command line, and a way to wait for queued GPU work. Without them the suite runs on the CPU
 * and reads the result back.
 */
interface DeviceContext {
  readonly device?: Device;
  settle?(t: Tensor): Promise<void>;
}

interface RopeCase {
  heads: number;
  seqLen: number;
  headDim: number;
  rotaryDim: number;
  style: RopeStyle;
}

function cases(quick: boolean, backend: string): RopeCase[] {
  if (quick) {
    return [
      { heads: 2, seqLen: 7, headDim: 10, rotaryDim: 10, style: 'half' },
      { heads: 2, seqLen: 7, headDim: 10, rotaryDim: 6, style: 'interleaved' },
    ];
  }
  const sizes: [number, number, number][] =
    backend === 'cpu'
      ? [
          [8, 128, 64],
          [8, 512, 64],
          [32, 512, 128],
          [32, 2048, 128],
        ]
      : [
          [32, 2048, 128],
          [32, 8192, 128],
          [64, 16384, 128],
        ];
  return sizes.flatMap(([heads, seqLen, headDim]) => [
    { heads, seqLen, headDim, rotaryDim: headDim, style: 'half' as const },
    { heads, seqLen, headDim, rotaryDim: headDim, style: 'interleaved' as const },
    // GPT-NeoX style partial rotary: a quarter of the head rotates, the rest is copied.
    { heads, seqLen, headDim, rotaryDim: headDim / 4, style: 'half' as const },
  ]);
}

/** Rotary position embedding on a `[1, H, S, D]` query tensor, positions 0..S-1. */
export const positionalSuite: Suite = {
  name: 'positional',
  description: 'RoPE (rope op) applied to [1, H, S, D] float32 queries: half, interleaved, partial',
  async run(ctx: SuiteContext) {
    const extra = ctx as SuiteContext & DeviceContext;
    const device = extra.device ?? cpu();
    const settle = extra.settle ?? (async (t: Tensor) => void (await t.data()));
    for (const c of cases(ctx.quick, device.backend)) {
      const size = c.heads * c.seqLen * c.headDim;
      const rng = new Random(c.heads * 7919 + c.seqLen);
      const data = Float32Array.from({ length: size }, () => rng.nextNormal());
      const x = fromTypedArray(data, [1, c.heads, c.seqLen, c.headDim], 'float32', device);
      const ids = Int32Array.from({ length: c.seqLen }, (_, i) => i);
      const positions = fromTypedArray(ids, [c.seqLen], 'int32', device);
      // The default table, 1 / 10000^(2i/d) (Su et al. 2021); the values do not change the
      // cost, and @qkv/positional builds the scaled ones.
      const table = Float32Array.from(
        { length: c.rotaryDim / 2 },
        (_, i) => 10000 ** ((-2 * i) / c.rotaryDim),
      );
      const invFreq = fromTypedArray(table, [table.length], 'float32', device);
      try {
        await ctx.measure(
          'qkv',
          {
            heads: c.heads,
            seqLen: c.seqLen,
            headDim: c.headDim,
            rotaryDim: c.rotaryDim,
            style: c.style,
          },
          async () => {
            const out = rope(x, positions, invFreq, { style: c.style, rotaryDim: c.rotaryDim });
            await settle(out);
            out.dispose();
          },
          // x read once and written once in float32.
          { bytes: 2 * 4 * size },
        );
      } finally {
        for (const t of [x, positions, invFreq]) t.dispose();
      }
    }
  },
};
