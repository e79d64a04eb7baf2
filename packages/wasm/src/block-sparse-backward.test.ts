// The native block-sparse attention gradient against the float64 reference backend, through
// the public path (`valueAndGrads` of `blockSparseAttention`), on blocks off the 4 x 8 micro-
// tiles and the 32-key units (query blocks starting mid 4-row group, key blocks wider than a
// unit, ragged last blocks), GQA, rows that attend nothing, with one thread and with three:
// whole key/value heads per thread where a case has at least three, units dealt round-robin
// with a dQ buffer per thread where it has fewer. The reference kernel must not run on this
// device.
import { expectClose } from '@qkv/conformance';
import {
  blockSparseAttention,
  causal,
  createBlockMask,
  keyPadding,
  type Mask,
  maskFromPredicate,
  slidingWindow,
  symmetricWindow,
} from '@qkv/sparse';
import { getKernel, type Tensor, valueAndGrads } from '@qkv/tensor';
import { describe, expect, it, vi } from 'vitest';
import { createWasmDevice } from './index.js';
import { checkBuffers, mirrors } from './test-support.js';

// Float32 sums over up to 200 keys and several heads against float64.
const tol = { atol: 5e-5, rtol: 2e-4 };

/** Rows 0 .. 6 attend no key; the others attend causally, with holes inside blocks. */
const lateStart = maskFromPredicate((_b, _h, i, j) => i >= 7 && j <= i && (i + 2 * j) % 5 !== 0, {
  dependsOnBatch: false,
  dependsOnHead: false,
});

for (const threads of [1, 3]) {
  const device = await createWasmDevice({ threads });
  describe(`${device.name}: block-sparse attention gradients`, () => {
    const { pair, poisoned } = mirrors(device);
    checkBuffers(device);
    const reference = getKernel('blockSparseAttentionBackward', 'cpu')!;

    const cases: [string, Mask, number, number, number, number, number, number][] = [
      // name, mask, batch, L (= S), blockQ, blockKv, Hkv (of 4 query heads), value width
      ['causal, one head per key/value head', causal(), 1, 97, 16, 16, 4, 24],
      ['sliding window, uneven blocks, GQA', slidingWindow(37), 2, 150, 40, 20, 2, 10],
      [
        'symmetric window, blocks of 13 (rows off the 4-row groups)',
        symmetricWindow(9),
        1,
        70,
        13,
        13,
        1,
        8,
      ],
      ['sliding window, key blocks wider than a unit', slidingWindow(90), 1, 203, 70, 100, 4, 5],
      [
        'rows that attend nothing, a predicate with holes, blocks of 6',
        lateStart,
        1,
        29,
        6,
        6,
        2,
        7,
      ],
    ];
    it.each(cases)('%s', async (_name, mask, batch, n, blockQ, blockKv, kvHeads, ev) => {
      const blocks = createBlockMask(mask, { qLen: n, kvLen: n, blockQ, blockKv });
      const inputs = [
        pair([batch, 4, n, 12]),
        pair([batch, kvHeads, n, 12]),
        pair([batch, kvHeads, n, ev]),
      ];
      await compareGrads(inputs, pair([batch, 4, n, ev]), (q, k, v) =>
        blockSparseAttention(q, k, v, blocks, { enableGqa: true }),
      );
    });

    it('L < S: key padding per batch item, and rank 3', async () => {
      const padded = createBlockMask(keyPadding([50, 31]), {
        qLen: 30,
        kvLen: 61,
        blockSize: 12,
        batch: 2,
      });
      await compareGrads(
        [pair([2, 2, 30, 8]), pair([2, 2, 61, 8]), pair([2, 2, 61, 8])],
        pair([2, 2, 30, 8]),
        (q, k, v) => blockSparseAttention(q, k, v, padded),
      );
      const late = createBlockMask(causal(31), { qLen: 30, kvLen: 61, blockSize: 12 });
      await compareGrads(
        [pair([1, 30, 8]), pair([1, 61, 8]), pair([1, 61, 8])],
        pair([1, 30, 8]),
        (q, k, v) => blockSparseAttention(q, k, v, late),
      );
    });

    // Keys some rows' windows hide hold NaN or ±Infinity in k and v: every gradient the
    // reference keeps finite (the rows that cannot see them, and what only such rows reach)
    // must match, and only those. Where the reference is not finite this device is not either
    // (NaN where a row's scores hold NaN; the reference may give ±Infinity there instead).
    // Neither key starts a block (the forward's reference skips a block whose only visible
    // score is NaN).
    for (const poison of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      it(`${poison} at keys the mask hides`, async () => {
        const hidden = (j: number) => j === 65 || j === 90;
        const blocks = createBlockMask(slidingWindow(25), { qLen: 97, kvLen: 97, blockSize: 20 });
        const shape = [1, 2, 97, 16];
        await compareGrads(
          [pair(shape), poisoned(shape, hidden, poison), poisoned(shape, hidden, poison)],
          pair(shape),
          (q, k, v) => blockSparseAttention(q, k, v, blocks),
          true,
        );
      });
    }

    /**
     * Output and dQ, dK, dV on both devices, compared (with `finiteWhereReference`, the
     * gradients only where the reference's are finite, and non-finite where they are not);
     * the reference kernel runs only once, on the reference backend.
     */
    async function compareGrads(
      inputs: [Tensor, Tensor][],
      dy: [Tensor, Tensor],
      f: (q: Tensor, k: Tensor, v: Tensor) => Tensor,
      finiteWhereReference = false,
    ): Promise<void> {
      const run = vi.spyOn(reference, 'run');
      try {
        const [expected, actual] = ([0, 1] as const).map((side) =>
          valueAndGrads((a, b, c) => f(a!, b!, c!))(
            inputs.map((p) => p[side]),
            dy[side],
          ),
        ) as [
          ReturnType<ReturnType<typeof valueAndGrads>>,
          ReturnType<ReturnType<typeof valueAndGrads>>,
        ];
        expect(run, 'reference blockSparseAttentionBackward runs').toHaveBeenCalledTimes(1);
        expect(actual.value.device).toBe(device);
        expectClose(await actual.value.data(), await expected.value.data(), tol, 'out');
        for (const [i, name] of ['dq', 'dk', 'dv'].entries()) {
          const got = Array.from(await actual.grads[i]!.data());
          const want = Array.from(await expected.grads[i]!.data());
          if (!finiteWhereReference) {
            expectClose(got, want, tol, name);
            continue;
          }
          const finite = want.map(Number.isFinite);
          expect(
            finite.some((x) => !x),
            `${name}: some reference gradient is not finite`,
          ).toBe(true);
          expect(got.map(Number.isFinite), `${name}: finite where the reference is`).toEqual(
            finite,
          );
          expectClose(
            got.filter((_, x) => finite[x]),
            want.filter((_, x) => finite[x]),
            tol,
            name,
          );
        }
        for (const t of [expected.value, actual.value, ...expected.grads, ...actual.grads]) {
          t.dispose();
        }
      } finally {
        run.mockRestore();
      }
      for (const t of [...inputs.flat(), ...dy]) t.dispose();
    }
  });
}
