import {
  add,
  concat,
  type Device,
  formatShape,
  full,
  logicalAnd,
  logicalNot,
  type Tensor,
} from '@qkv/tensor';
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

/** What a mask check needs: the dimensions without the appended keys. */
export type MhaMaskCheckDims = Omit<MhaMaskDims, 'extraKeys'>;

/**
 * Check the masks of one forward call against the module and the inputs (device, shape)
 * before anything runs: `attnMask` `[L, S]` or `[N·H, L, S]`, `keyPaddingMask` `[N, S]`.
 * Their kind and dtype (bool or float tensors) were checked with the other arguments
 * (`validate-args.ts`).
 */
export function checkMhaMasks(
  where: string,
  masks: MhaMaskInputs,
  device: Device,
  d: MhaMaskCheckDims,
): void {
  const { batch: n, heads: h, queryLength: l, keyLength: s } = d;
  const accepted: Record<keyof MhaMaskInputs, number[][]> = {
    attnMask: [
      [l, s],
      [d.unbatched ? h : n * h, l, s],
    ],
    keyPaddingMask: [d.unbatched ? [s] : [n, s]],
  };
  for (const [name, shapes] of Object.entries(accepted) as [keyof MhaMaskInputs, number[][]][]) {
    const m = masks[name];
    if (m === undefined) continue;
    if (m.device !== device) {
      fail(where, `${name} is on ${m.device.name} but the module is on ${device.name}`);
    }
    if (!shapes.some((t) => t.length === m.rank && t.every((x, i) => x === m.shape[i]))) {
      fail(
        where,
        `${name} ${formatShape(m.shape)} ${m.dtype} must be ${shapes.map(formatShape).join(' or ')}`,
      );
    }
  }
  const { attnMask, keyPaddingMask } = masks;
  if (
    attnMask?.dtype !== 'bool' &&
    keyPaddingMask?.dtype !== 'bool' &&
    attnMask &&
    keyPaddingMask &&
    attnMask.dtype !== keyPaddingMask.dtype
  ) {
    fail(
      where,
      `float masks are added, so they must share a dtype: attnMask is ${attnMask.dtype}, keyPaddingMask ${keyPaddingMask.dtype}`,
    );
  }
}

/**
 * Turn PyTorch MHA masks (bool `true` = masked out), already accepted by `checkMhaMasks`,
 * into the `attention` op's inputs (bool `true` = may attend, float added). Masks combine as
 * PyTorch combines them: a key is hidden when either bool mask hides it, float masks add.
 * Create inside a `scope`.
 */
export function toOpMasks(masks: MhaMaskInputs, d: MhaMaskDims): OpMasks {
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
  const { attnMask, keyPaddingMask } = masks;
  if (attnMask) merge(attnMask.rank === 2 ? attnMask : attnMask.reshape([n, h, l, s]));
  if (keyPaddingMask) merge(keyPaddingMask.reshape([n, 1, 1, s]));
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
