import { Random } from '@qkv/tensor';
import type { Expr } from './expr.js';
import { and, not, or } from './expr.js';
import { type Mask, maskFromPredicate } from './mask.js';
import {
  bigBird,
  causal,
  dilatedSlidingWindow,
  documentMask,
  keyPadding,
  longformer,
  prefixLM,
  slidingWindow,
  sparseTransformerFixed,
  sparseTransformerStrided,
  symmetricWindow,
} from './patterns.js';

// Random built-in patterns (and combinations) for property tests, drawn from a seed.

export const PATTERN_KINDS = [
  'causal',
  'sliding',
  'symmetric',
  'dilated',
  'longformer',
  'bigbird',
  'strided',
  'fixed',
  'document',
  'prefix',
  'padding',
  'and',
  'or',
  'not',
] as const;

export interface MaskDims {
  batch: number;
  qLen: number;
  kvLen: number;
}

function sortedSegments(rng: Random, n: number): Int32Array {
  const ids = new Int32Array(n);
  let id = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && rng.nextFloat() < 0.15) id++;
    ids[i] = id;
  }
  return ids;
}

export function randomPattern(
  kind: (typeof PATTERN_KINDS)[number],
  seed: number,
  d: MaskDims,
): Expr {
  const rng = new Random(seed);
  const int = (lo: number, hi: number) => lo + (rng.nextUint32() % (hi - lo + 1));
  const n = Math.max(d.qLen, d.kvLen);
  switch (kind) {
    case 'causal':
      return causal(int(-3, 3));
    case 'sliding':
      return slidingWindow(int(1, 12));
    case 'symmetric':
      return symmetricWindow(int(0, 8));
    case 'dilated':
      return dilatedSlidingWindow({
        window: int(1, 5),
        dilation: int(1, 4),
        causal: rng.nextFloat() < 0.5,
      });
    case 'longformer':
      return longformer({
        radius: int(0, 4),
        global:
          rng.nextFloat() < 0.5 ? int(0, 3) : Array.from({ length: int(1, 3) }, () => int(0, n)),
      });
    case 'bigbird':
      return bigBird({
        blockSize: int(1, 8),
        seqLen: n,
        windowBlocks: int(0, 2),
        globalBlocks: int(0, 2),
        randomBlocks: int(0, 3),
        seed: int(0, 1000),
      });
    case 'strided':
      return sparseTransformerStrided(int(1, 8));
    case 'fixed': {
      const stride = int(1, 8);
      return sparseTransformerFixed(stride, int(1, stride));
    }
    case 'document': {
      const qSeg = sortedSegments(rng, d.qLen);
      const kvSeg = sortedSegments(rng, d.kvLen);
      return documentMask(qSeg, { kvSegmentIds: kvSeg, causal: rng.nextFloat() < 0.5 });
    }
    case 'prefix':
      return prefixLM(
        rng.nextFloat() < 0.5 ? int(0, n) : Array.from({ length: d.batch }, () => int(0, n)),
      );
    case 'padding':
      return keyPadding(Array.from({ length: d.batch }, () => int(0, d.kvLen)));
    case 'and':
    case 'or': {
      const pick = () => PATTERN_KINDS[int(0, 10)]!;
      const x = randomPattern(pick(), int(0, 1e6), d);
      const y = randomPattern(pick(), int(0, 1e6), d);
      return kind === 'and' ? and(x, y) : or(x, y);
    }
    case 'not':
      return not(randomPattern(PATTERN_KINDS[int(0, 10)]!, int(0, 1e6), d));
  }
}

/** A mask the expression language does not see into: a random 0/1 table per element. */
export function randomPredicate(seed: number, d: MaskDims, density: number): Mask {
  const rng = new Random(seed);
  const table = Array.from({ length: d.batch * d.qLen * d.kvLen }, () => rng.nextFloat() < density);
  return maskFromPredicate((b, _h, q, k) => table[(b * d.qLen + q) * d.kvLen + k]!, {
    dependsOnHead: false,
  });
}
