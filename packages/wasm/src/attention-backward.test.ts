// The native attention gradient (attentionLse + attentionBackward) against the float64
// reference backend, through the public path (`valueAndGrads` of `attention`), on shapes that
// cross the 32-row and 32-key blocks and the 4 x 8 micro-tiles, with one thread and with three:
// whole key/value heads per thread where a case has at least three, key blocks dealt
// round-robin with a dQ buffer per thread where it has fewer.
import { expectClose } from '@qkv/conformance';
import {
  type AttentionOptions,
  attention,
  cpu,
  crossEntropy,
  linear,
  permute,
  type Shape,
  type Tensor,
  tensor,
  valueAndGrads,
} from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { createWasmDevice } from './index.js';
import { checkBuffers, mirrors } from './test-support.js';

// Float32 sums over up to 150 keys and several heads against float64.
const tol = { atol: 5e-5, rtol: 2e-4 };

for (const threads of [1, 3]) {
  const device = await createWasmDevice({ threads });
  describe(`${device.name}: attention gradients`, () => {
    const { mirror, pair, poisoned } = mirrors(device);
    checkBuffers(device);

    /**
     * Output and dQ, dK, dV of `attention` with `options` on both devices, compared; `extra`
     * are the mask / bias / slopes pairs `options` uses, disposed with the rest; `nanDyRows`
     * puts NaN in those query rows of the upstream gradient. Returns the wasm device's dQ, dK
     * and dV.
     */
    async function compareGrads(
      [q, k, v]: [Tensor, Tensor][],
      options: (side: 0 | 1) => AttentionOptions,
      extras: [Tensor, Tensor][] = [],
      nanDyRows?: (i: number) => boolean,
    ): Promise<Float32Array[]> {
      const shapes = [q![0].shape, k![0].shape, v![0].shape];
      const outShape = [...shapes[0]!.slice(0, -1), shapes[2]!.at(-1)!];
      const dy = nanDyRows ? poisoned(outShape, nanDyRows, Number.NaN) : pair(outShape);
      const results = ([0, 1] as const).map((side) =>
        valueAndGrads((a, b, c) => attention(a!, b!, c!, options(side)))(
          [q![side], k![side], v![side]],
          dy[side],
        ),
      );
      const [expected, actual] = results as [
        ReturnType<ReturnType<typeof valueAndGrads>>,
        ReturnType<ReturnType<typeof valueAndGrads>>,
      ];
      expect(actual.value.device).toBe(device);
      expectClose(await actual.value.data(), await expected.value.data(), tol, 'out');
      const grads: Float32Array[] = [];
      for (const [i, name] of ['dq', 'dk', 'dv'].entries()) {
        grads.push((await actual.grads[i]!.data()) as Float32Array);
        expectClose(grads[i]!, await expected.grads[i]!.data(), tol, name);
      }
      for (const r of results) for (const t of [r.value, ...r.grads]) t.dispose();
      for (const t of [q!, k!, v!, dy, ...extras].flat()) t.dispose();
      return grads;
    }

    const cases: [string, Shape, Shape, Shape, AttentionOptions][] = [
      ['several blocks, sizes off the tiles', [2, 3, 37, 12], [2, 3, 70, 12], [2, 3, 70, 5], {}],
      ['causal', [1, 2, 97, 16], [1, 2, 97, 16], [1, 2, 97, 16], { isCausal: true }],
      [
        'causal bottom-right, GQA 4:2, kvLength',
        [1, 4, 37, 8],
        [1, 2, 75, 8],
        [1, 2, 75, 5],
        { isCausal: true, causalAlignment: 'bottom-right', enableGqa: true, kvLength: 66 },
      ],
      ['causal, more queries than keys', [3, 50, 8], [3, 20, 8], [3, 20, 8], { isCausal: true }],
      [
        'causal bottom-right, more queries than keys',
        [2, 45, 6],
        [2, 33, 6],
        [2, 33, 3],
        { isCausal: true, causalAlignment: 'bottom-right' },
      ],
      [
        'softcap and scale',
        [1, 1, 40, 24],
        [1, 1, 90, 24],
        [1, 1, 90, 24],
        { softcap: 0.5, scale: 3 },
      ],
      ['one head, rank 2', [33, 8], [41, 8], [41, 9], {}],
      ['one query, head dim 1', [2, 1, 1], [2, 5, 1], [2, 5, 3], {}],
      ['no keys attended (kvLength 0)', [1, 2, 6, 4], [1, 2, 3, 4], [1, 2, 3, 4], { kvLength: 0 }],
      [
        "the explorer's model's attention",
        [16, 4, 64, 16],
        [16, 4, 64, 16],
        [16, 4, 64, 16],
        { isCausal: true },
      ],
    ];
    it.each(cases)('%s', async (_name, qShape, kShape, vShape, options) => {
      await compareGrads([pair(qShape), pair(kShape), pair(vShape)], () => options);
    });

    it('bool mask with fully masked rows, causal, float bias, ALiBi and GQA', async () => {
      // Row 3 sees no key at all; the mask broadcasts over batch and heads.
      const bits = Array.from(
        { length: 45 * 70 },
        (_, i) => Math.floor(i / 70) !== 3 && (i * 7919) % 5 !== 0,
      );
      const mask = mirror(tensor(bits, [45, 70], { dtype: 'bool', device: cpu() }));
      const bias = pair([2, 1, 45, 70]);
      const slopes = mirror(tensor([0.5, 0.25, 0.125, 0.0625], [4], { device: cpu() }));
      await compareGrads(
        [pair([2, 4, 45, 16]), pair([2, 2, 70, 16]), pair([2, 2, 70, 12])],
        (side) => ({
          attnMask: mask[side],
          bias: bias[side],
          alibiSlopes: slopes[side],
          isCausal: true,
          causalAlignment: 'bottom-right',
          enableGqa: true,
        }),
        [mask, bias, slopes],
      );
    });

    it('float mask with -inf and softcap', async () => {
      const values = Array.from({ length: 37 * 50 }, (_, i) =>
        i % 7 === 0 ? Number.NEGATIVE_INFINITY : Math.sin(i),
      );
      const mask = mirror(tensor(values, [1, 1, 37, 50], { device: cpu() }));
      await compareGrads(
        [pair([2, 2, 37, 8]), pair([2, 2, 50, 8]), pair([2, 2, 50, 8])],
        (side) => ({ attnMask: mask[side], softcap: 1.5 }),
        [mask],
      );
    });

    it('a causal attention layer end to end: parameter gradients through permute, attention and cross-entropy', async () => {
      const [b, t, d, heads] = [3, 37, 24, 3];
      const params = [pair([b, t, d]), ...Array.from({ length: 4 }, () => pair([d, d], -0.3, 0.3))];
      const ids = Array.from({ length: b * t }, (_, i) => (i * 7) % d);
      const targets = mirror(tensor(ids, [b, t], { dtype: 'int32', device: cpu() }));
      const split = (x: Tensor) => permute(x.reshape([b, t, heads, d / heads]), [0, 2, 1, 3]);
      const loss = (side: 0 | 1) => (x: Tensor, wq: Tensor, wk: Tensor, wv: Tensor, wo: Tensor) => {
        const heads = attention(split(linear(x, wq)), split(linear(x, wk)), split(linear(x, wv)), {
          isCausal: true,
        });
        const merged = permute(heads, [0, 2, 1, 3]).reshape([b, t, d]);
        return crossEntropy(linear(merged, wo), targets[side]);
      };
      const [expected, actual] = ([0, 1] as const).map((side) =>
        valueAndGrads((...xs) => loss(side)(xs[0]!, xs[1]!, xs[2]!, xs[3]!, xs[4]!))(
          params.map((p) => p[side]),
        ),
      );
      expectClose(await actual!.value.data(), await expected!.value.data(), tol, 'loss');
      for (const [i, g] of actual!.grads.entries()) {
        expectClose(await g.data(), await expected!.grads[i]!.data(), tol, `grad ${i}`);
      }
      for (const r of [expected!, actual!]) for (const x of [r.value, ...r.grads]) x.dispose();
      for (const x of [...params, targets].flat()) x.dispose();
    });

    it('NaN in a row of q and of dOut: NaN where the reference has it, keys nobody sees keep zero dK and dV', async () => {
      const hidden = (j: number) => j % 9 === 4;
      const bits = Array.from({ length: 40 * 50 }, (_, i) => !hidden(i % 50));
      const mask = mirror(tensor(bits, [40, 50], { dtype: 'bool', device: cpu() }));
      const q = poisoned([1, 40, 8], (i) => i === 5, Number.NaN);
      const [, dk, dv] = await compareGrads(
        [q, pair([1, 50, 8]), pair([1, 50, 6])],
        (side) => ({ attnMask: mask[side] }),
        [mask],
        (i) => i === 33,
      );
      const hiddenRows = (g: Float32Array, width: number) =>
        g.filter((_, i) => hidden(Math.floor(i / width)));
      expect(hiddenRows(dk!, 8).every((x) => x === 0)).toBe(true);
      expect(hiddenRows(dv!, 6).every((x) => x === 0)).toBe(true);
    });

    for (const poison of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      // Rows from 60 on see a poisoned key, so their gradients are NaN on both devices; the
      // earlier rows, and the keys only they see, must stay finite and match.
      it(`${poison} in k and v at causal futures: the reference's NaN pattern exactly`, async () => {
        const late = (j: number) => j >= 60;
        const shape = [1, 2, 75, 8];
        const [dq] = await compareGrads(
          [pair(shape), poisoned(shape, late, poison), poisoned(shape, late, poison)],
          () => ({ isCausal: true }),
        );
        const earlyRows = dq!.filter((_, i) => !late(Math.floor(i / 8) % 75));
        expect(earlyRows.every(Number.isFinite)).toBe(true);
      });

      it(`${poison} in k and v at keys hidden by a bool mask: gradients stay finite`, async () => {
        const hidden = (j: number) => j % 9 === 4 || j >= 60;
        const bits = Array.from({ length: 40 * 70 }, (_, i) => !hidden(i % 70));
        const mask = mirror(tensor(bits, [40, 70], { dtype: 'bool', device: cpu() }));
        const k = poisoned([2, 2, 70, 12], hidden, poison);
        const v = poisoned([2, 2, 70, 10], hidden, poison);
        const [dq, dk, dv] = await compareGrads(
          [pair([2, 2, 40, 12]), k, v],
          (side) => ({ attnMask: mask[side] }),
          [mask],
        );
        for (const g of [dq!, dk!, dv!]) expect(g.every(Number.isFinite)).toBe(true);
        // No query attends to a hidden key: its dK and dV are exactly zero.
        const hiddenRows = (g: Float32Array, width: number) =>
          g.filter((_, i) => hidden(Math.floor(i / width) % 70));
        expect(hiddenRows(dk!, 12).every((x) => x === 0)).toBe(true);
        expect(hiddenRows(dv!, 10).every((x) => x === 0)).toBe(true);
      });
    }
  });
}
