// The native attention gradient (attentionLse + attentionBackward) against the float64
// reference backend, through the public path (`valueAndGrads` of `attention`), on shapes that
// cross the 32-row and 32-key blocks and the 4 x 8 micro-tiles, with one thread and with three
// (the key blocks and the dQ sums split unevenly).
import { expectClose } from '@qkv/conformance';
import {
  type AttentionOptions,
  attention,
  cpu,
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
     * are the mask / bias / slopes pairs `options` uses, disposed with the rest. Returns the
     * wasm device's dQ, dK and dV.
     */
    async function compareGrads(
      [q, k, v]: [Tensor, Tensor][],
      options: (side: 0 | 1) => AttentionOptions,
      extras: [Tensor, Tensor][] = [],
    ): Promise<Float32Array[]> {
      const shapes = [q![0].shape, k![0].shape, v![0].shape];
      const outShape = [...shapes[0]!.slice(0, -1), shapes[2]!.at(-1)!];
      const dy = pair(outShape);
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

    for (const poison of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
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
