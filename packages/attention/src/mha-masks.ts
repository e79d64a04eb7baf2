import { add, concat, formatShape, full, logicalAnd, logicalNot, type Tensor } from '@qkv/tensor';
import { fail } from './errors.js';

export interface MhaMaskInputs {
  /** `[L, S]` or `[N·H, L, S]`: bool `true` = masked out (PyTorch MHA), or float, added. */
  attnMask?: Tensor;
  /** `[N, S]`: bool `true` = padding, ignored; or float, added. */
  keyPaddingMask?: Tensor;
}

export interface MhaMaskDims {
  batch: number;
  heads: number;
  queryLength: number;
  /** Key positions the caller's masks cover. */
  keyLength: number;
  /** Key positions appended after them (`bias_k`, zero attention), always attendable. */
  extraKeys: number;
  /** The input had no batch dimension: masks come without it too. */
  unbatched: boolean;
}

/** The `attention` op's mask (true = may attend) and additive bias, both `[N, H|1, L, S]`. */
export interface OpMasks {
  allow?: Tensor;
  bias?: Tensor;
}

function checkShape(where: string, name: string, t: Tensor, shapes: number[][]): void {
  if (!shapes.some((s) => s.length === t.rank && s.every((d, i) => d === t.shape[i]))) {
    fail(
      where,
      `${name} ${formatShape(t.shape)} ${t.dtype} must be ${shapes.map(formatShape).join(' or ')}`,
    );
  }
}

/**
 * Turn PyTorch MHA masks (bool `true` = masked out) into the `attention` op's inputs (bool
 * `true` = may attend, float added). Masks combine as PyTorch combines them: a key is
 * hidden when either bool mask hides it, float masks add. Create inside a `scope`.
 */
export function toOpMasks(where: string, masks: MhaMaskInputs, d: MhaMaskDims): OpMasks {
  const { batch: n, heads: h, queryLength: l, keyLength: s } = d;
  const out: OpMasks = {};
  const merge = (t: Tensor) => {
    if (t.dtype === 'bool') {
      const allow = logicalNot(t);
      out.allow = out.allow ? logicalAnd(out.allow, allow) : allow;
    } else {
      out.bias = out.bias ? add(out.bias, t) : t;
    }
  };
  if (masks.attnMask) {
    const m = masks.attnMask;
    checkShape(where, 'attnMask', m, [
      [l, s],
      [d.unbatched ? h : n * h, l, s],
    ]);
    merge(m.rank === 2 ? m : m.reshape([n, h, l, s]));
  }
  if (masks.keyPaddingMask) {
    const m = masks.keyPaddingMask;
    checkShape(where, 'keyPaddingMask', m, [d.unbatched ? [s] : [n, s]]);
    merge(m.reshape([n, 1, 1, s]));
  }
  if (d.extraKeys > 0) {
    // Appended keys (bias_k, zero attention) are visible to every query, as in PyTorch.
    const pad = (t: Tensor, value: boolean | number) =>
      concat(
        [
          t,
          full([...t.shape.slice(0, -1), d.extraKeys], value, { dtype: t.dtype, device: t.device }),
        ],
        -1,
      );
    if (out.allow) out.allow = pad(out.allow, true);
    if (out.bias) out.bias = pad(out.bias, 0);
  }
  return out;
}
