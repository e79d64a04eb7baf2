import { mul, Random, type Tensor, tensor } from '@qkv/tensor';
import { fail } from './errors.js';

/**
 * Inverted dropout with a seeded host generator: zero each element with probability `p` and
 * scale the survivors by `1 / (1 - p)` (Srivastava et al. 2014), so a seed gives the same
 * mask on every device.
 */
export function dropout(x: Tensor, p: number, rng: Random): Tensor {
  if (!(p >= 0 && p < 1)) fail('dropout', `p must be in [0, 1), got ${p}`);
  const keep = 1 / (1 - p);
  const scale = Array.from({ length: x.size }, () => (rng.nextFloat() < p ? 0 : keep));
  const mask = tensor(scale, x.shape, { dtype: x.dtype, device: x.device });
  try {
    return mul(x, mask);
  } finally {
    mask.dispose();
  }
}

/** A generator for dropout: seeded when a seed is given, else from `Math.random`. */
export function dropoutRandom(seed: number | undefined): Random {
  return new Random(seed ?? Math.floor(Math.random() * 2 ** 32));
}
