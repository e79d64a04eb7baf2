// The native kernels against the float64 reference backend on shapes that cross every tile
// and block boundary (4 x 8 micro-tiles, 32-row and 1024-deep GEMM blocks, 32 x 64 attention
// blocks), with outputs poisoned and buffers counted. The conformance suite covers the op
// contracts on small shapes; these cover the blocking and the SIMD tails of the row ops.
import { expectClose } from '@qkv/conformance';
import {
  alibi,
  blockSparseAttention,
  causal,
  compileJs,
  composeScoreMods,
  createBlockMask,
  type Expr,
  emptyStats,
  keyPadding,
  type Mask,
  maskToTensor,
  relativeBias,
  score,
  slidingWindow,
  softCap,
  symmetricWindow,
  t5Bias,
  where,
} from '@qkv/sparse';
import {
  type AttentionOptions,
  attention,
  type BlockSparseStats,
  binary,
  cpu,
  grads,
  layerNorm,
  matmul,
  rmsNorm,
  type Shape,
  softmax,
  type Tensor,
  tensor,
  unary,
  valueAndGrads,
} from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { createWasmDevice } from './index.js';
import { NATIVE_BINARY, NATIVE_UNARY } from './kernels/elementwise.js';
import { checkBuffers, mirrors } from './test-support.js';

// Long float32 sums (up to 300 terms) against float64 references.
const tol = { atol: 2e-5, rtol: 1e-4 };

// One thread, and three (an odd count, so bands and query blocks split unevenly).
for (const threads of [1, 3]) {
  const device = await createWasmDevice({ threads });
  describe(device.name, () => {
    const { mirror, pair, poisoned } = mirrors(device);

    /** Run `op` on the reference and on the wasm device; compare and dispose everything. */
    async function compare(
      inputs: [Tensor, Tensor][],
      op: (xs: Tensor[]) => Tensor,
    ): Promise<void> {
      const expected = op(inputs.map(([r]) => r));
      const actual = op(inputs.map(([, w]) => w));
      expect(actual.device).toBe(device);
      expectClose(await actual.data(), await expected.data(), tol);
      for (const t of [expected, actual, ...inputs.flat()]) t.dispose();
    }

    checkBuffers(device);

    describe('wasm matmul', () => {
      it.each([
        [1, 1, 1],
        [5, 7, 3],
        [67, 35, 300],
        [130, 9, 257],
        [64, 64, 64],
        [9, 13, 1100],
      ])('%i x %i (k = %i), every transpose', async (m, n, k) => {
        for (const transposeA of [false, true]) {
          for (const transposeB of [false, true]) {
            const a = pair(transposeA ? [k, m] : [m, k]);
            const b = pair(transposeB ? [n, k] : [k, n]);
            await compare([a, b], ([x, y]) => matmul(x!, y!, { transposeA, transposeB }));
          }
        }
      });

      it('broadcasts batch dimensions', async () => {
        await compare([pair([2, 1, 9, 13]), pair([3, 13, 11])], ([x, y]) => matmul(x!, y!));
      });
    });

    describe('wasm attention', () => {
      const cases: [string, Shape, Shape, Shape, AttentionOptions][] = [
        ['several blocks', [2, 3, 70, 20], [2, 3, 150, 20], [2, 3, 150, 12], {}],
        ['causal', [1, 2, 97, 16], [1, 2, 97, 16], [1, 2, 97, 16], { isCausal: true }],
        [
          'causal bottom-right, GQA, kvLength',
          [1, 4, 37, 8],
          [1, 2, 140, 8],
          [1, 2, 140, 5],
          { isCausal: true, causalAlignment: 'bottom-right', enableGqa: true, kvLength: 131 },
        ],
        ['causal, more queries than keys', [3, 50, 8], [3, 20, 8], [3, 20, 8], { isCausal: true }],
        [
          'softcap and scale',
          [1, 1, 40, 24],
          [1, 1, 90, 24],
          [1, 1, 90, 24],
          { softcap: 0.5, scale: 3 },
        ],
      ];
      it.each(cases)('%s', async (_name, qShape, kShape, vShape, options) => {
        await compare([pair(qShape), pair(kShape), pair(vShape)], ([q, k, v]) =>
          attention(q!, k!, v!, options),
        );
      });

      it('bool mask with causal, float bias and ALiBi', async () => {
        const bits = Array.from({ length: 45 * 100 }, (_, i) => (i * 7919) % 5 !== 0);
        const mask = mirror(tensor(bits, [1, 1, 45, 100], { dtype: 'bool', device: cpu() }));
        const inputs = [pair([2, 2, 45, 16]), pair([2, 2, 100, 16]), pair([2, 2, 100, 16])];
        await compare([...inputs, mask, pair([2, 1, 1, 100]), pair([2], 0, 0.5)], (xs) => {
          const [q, k, v, attnMask, bias, alibiSlopes] = xs;
          return attention(q!, k!, v!, { attnMask, bias, alibiSlopes, isCausal: true });
        });
      });

      it('float mask; a fully masked row is zero', async () => {
        const values = Array.from({ length: 33 * 70 }, (_, i) =>
          i < 70 || i % 3 === 0 ? Number.NEGATIVE_INFINITY : (i % 11) / 10,
        );
        const mask = mirror(tensor(values, [33, 70], { device: cpu() }));
        await compare([pair([2, 33, 8]), pair([2, 70, 8]), pair([2, 70, 8]), mask], (xs) => {
          const [q, k, v, attnMask] = xs;
          return attention(q!, k!, v!, { attnMask });
        });
      });
    });

    describe('wasm attention, non-finite k and v at masked keys', () => {
      for (const poison of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        it(`${poison} at keys hidden by a bool mask, several blocks`, async () => {
          const hidden = (j: number) => (j >= 100 && j < 104) || j >= 140;
          const bits = Array.from({ length: 150 }, (_, j) => !hidden(j));
          const mask = mirror(tensor(bits, [1, 1, 1, 150], { dtype: 'bool', device: cpu() }));
          const k = poisoned([2, 2, 150, 12], hidden, poison);
          const v = poisoned([2, 2, 150, 10], hidden, poison);
          await compare([pair([2, 2, 70, 12]), k, v, mask], ([q, k, v, attnMask]) =>
            attention(q!, k!, v!, { attnMask }),
          );
        });

        // Rows from 60 on see a poisoned key: NaN on both sides; the earlier rows must not.
        it(`${poison} at causal futures, several blocks`, async () => {
          const hidden = (j: number) => j === 60 || j === 90;
          const k = poisoned([1, 2, 97, 16], hidden, poison);
          const v = poisoned([1, 2, 97, 16], hidden, poison);
          await compare([pair([1, 2, 97, 16]), k, v], ([q, k, v]) =>
            attention(q!, k!, v!, { isCausal: true }),
          );
        });
      }
    });

    describe('wasm row ops', () => {
      it('softmax over the last axis, with -inf and fully masked rows', async () => {
        const values = Array.from({ length: 5 * 37 }, (_, i) =>
          i < 37 || i % 7 === 0 ? Number.NEGATIVE_INFINITY : Math.sin(i) * 20,
        );
        await compare([mirror(tensor(values, [5, 37], { device: cpu() }))], ([x]) => softmax(x!));
        await compare([pair([3, 4, 130], -30, 30)], ([x]) => softmax(x!));
      });

      it('layerNorm and rmsNorm with and without weight and bias', async () => {
        await compare([pair([6, 3, 21], -5, 7), pair([3, 21]), pair([3, 21])], ([x, w, b]) =>
          layerNorm(x!, { weight: w!, bias: b!, normalizedDims: 2 }),
        );
        await compare([pair([9, 67], 2, 3)], ([x]) => layerNorm(x!));
        await compare([pair([4, 130]), pair([130])], ([x, w]) => rmsNorm(x!, { weight: w! }));
        await compare([pair([2, 5])], ([x]) => rmsNorm(x!, { eps: 0.1 }));
      });
    });
    describe('wasm elementwise', () => {
      // Every float32 edge the formulas meet: NaN, ±Infinity, ±0, exp's overflow and
      // underflow (to subnormals), over a length that leaves a scalar tail.
      const special = [Number.NaN, Infinity, -Infinity, 0, -0, 88.5, 89, -87.5, -100, -104, 1e-3];
      const values = Array.from({ length: 5 * 37 }, (_, i) =>
        i < special.length ? special[i]! : Math.sin(i * 1.7) * (i % 3 === 0 ? 30 : 4),
      );
      it.each(NATIVE_UNARY)('%s', async (op) => {
        const x = mirror(tensor(values, [5, 37], { device: cpu() }));
        await compare([x], ([t]) => unary(op, t!));
      });

      const shapes: [string, Shape, Shape][] = [
        ['same shape', [3, 5, 37], [3, 5, 37]],
        ['scalar', [3, 43], []],
        ['scalar first', [1], [6, 7]],
        ['trailing dimensions', [4, 3, 21], [3, 21]],
        ['a column', [9, 1], [9, 22]],
        ['other broadcasts (reference kernel)', [3, 1, 5], [4, 1]],
      ];
      for (const op of NATIVE_BINARY) {
        it.each(shapes)(`${op}: %s`, async (_name, aShape, bShape) => {
          await compare([pair(aShape, -3, 3), pair(bShape, -3, 3)], ([a, b]) => binary(op, a!, b!));
        });
      }

      it('propagates NaN and infinities through the binary ops', async () => {
        for (const op of NATIVE_BINARY) {
          const a = mirror(tensor(values.slice(0, 37), [37], { device: cpu() }));
          const b = mirror(tensor(values.slice(0, 37).reverse(), [37], { device: cpu() }));
          await compare([a, b], ([x, y]) => binary(op, x!, y!));
        }
      });
    });

    describe('wasm block-sparse attention', () => {
      // Blocks that are not multiples of the 8-key panels or the 32 x 64 tiles, ragged last
      // blocks, and masks with full, partial and skipped blocks.
      const cases: [string, Mask, number, number, number, number, number][] = [
        // name, mask, batch, L (= S), blockQ, blockKv, Hkv (of 4 query heads)
        ['causal', causal(), 1, 97, 16, 16, 4],
        ['sliding window, uneven blocks, GQA', slidingWindow(37), 2, 150, 40, 20, 2],
        ['symmetric window, blocks of 13', symmetricWindow(9), 1, 70, 13, 13, 1],
        ['sliding window, blocks wider than a tile', slidingWindow(90), 1, 203, 70, 100, 4],
      ];
      it.each(cases)('%s', async (_name, mask, batch, n, blockQ, blockKv, kvHeads) => {
        const blocks = createBlockMask(mask, { qLen: n, kvLen: n, blockQ, blockKv });
        const inputs = [pair([batch, 4, n, 24]), pair([batch, kvHeads, n, 24])];
        await compare([...inputs, pair([batch, kvHeads, n, 10])], ([q, k, v]) =>
          blockSparseAttention(q!, k!, v!, blocks, { enableGqa: true }),
        );
      });

      it('L < S: key padding per batch item with its work counted, and bottom-right causal', async () => {
        const blocks = createBlockMask(keyPadding([50, 31]), {
          qLen: 30,
          kvLen: 61,
          blockSize: 12,
          batch: 2,
        });
        const counted = [emptyStats(), emptyStats()];
        let run = 0;
        await compare([pair([2, 2, 30, 8]), pair([2, 2, 61, 8]), pair([2, 2, 61, 8])], (xs) =>
          blockSparseAttention(xs[0]!, xs[1]!, xs[2]!, blocks, { stats: counted[run++]! }),
        );
        // The same work, except that the two heads share the tables' rows (heads 1) and so
        // one evaluation of the mask, where the reference evaluates it per head.
        const [reference, native] = counted as [BlockSparseStats, BlockSparseStats];
        expect(native).toEqual({ ...reference, maskEvaluations: reference.maskEvaluations / 2 });
        expect(native.maskEvaluations).toBeGreaterThan(0);
        const late = createBlockMask(causal(31), { qLen: 30, kvLen: 61, blockSize: 12 });
        await compare([pair([1, 30, 8]), pair([1, 61, 8]), pair([1, 61, 8])], (xs) =>
          blockSparseAttention(xs[0]!, xs[1]!, xs[2]!, late),
        );
      });

      // Keys hidden from some rows by the mask hold NaN or ±Infinity in k and v: the rows that
      // cannot see them must stay finite (rows that can are NaN on both sides). Neither key
      // starts a block: the reference skips a block whose only visible score is NaN.
      for (const poison of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        it(`${poison} at keys the mask hides`, async () => {
          const hidden = (j: number) => j === 65 || j === 90;
          const blocks = createBlockMask(slidingWindow(25), { qLen: 97, kvLen: 97, blockSize: 20 });
          const shape = [1, 2, 97, 16];
          await compare(
            [pair(shape), poisoned(shape, hidden, poison), poisoned(shape, hidden, poison)],
            ([q, k, v]) => blockSparseAttention(q!, k!, v!, blocks),
          );
        });
      }

      // The gradient through a score modifier (its compiled derivative scales dS) on this
      // device, against dense attention's gradient with the equivalent option on the
      // reference backend; a modifier with no dense form against the reference backend.
      const heads = 4;
      const relTable = Float32Array.from([0.5, -1, 0.25, 2, -0.5]);
      const t5Table = Float32Array.from({ length: 32 * heads }, (_, i) => Math.sin(i));
      const modCases: [string, Expr, () => AttentionOptions | undefined][] = [
        ['alibi', alibi(heads), () => ({ alibiSlopes: slopes() })],
        ['softCap', softCap(2), () => ({ softcap: 2 })],
        [
          'softCap then alibi',
          composeScoreMods(softCap(2), alibi(heads)),
          () => ({ softcap: 2, alibiSlopes: slopes() }),
        ],
        [
          'relativeBias',
          relativeBias(relTable, 2),
          () => ({ bias: biasOf(relativeBias(relTable, 2)) }),
        ],
        [
          't5Bias',
          t5Bias(t5Table, { heads }),
          () => ({ bias: biasOf(t5Bias(t5Table, { heads })) }),
        ],
        ['where and exp', where(score.gt(0), score, score.exp().sub(1)), () => undefined],
      ];
      const L = 21;
      function slopes(): Tensor {
        // alibi(heads) at score 0 for keys one apart is -slope_h.
        const f = compileJs(alibi(heads));
        const values = Array.from({ length: heads }, (_, h) => -f(0, h, 0, 1, 0));
        return tensor(values, [heads], { device: cpu() });
      }
      function biasOf(mod: Expr): Tensor {
        const f = compileJs(mod);
        const values: number[] = [];
        for (let h = 0; h < heads; h++)
          for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) values.push(f(0, h, i, j, 0));
        return tensor(values, [heads, L, L], { device: cpu() });
      }
      it.each(modCases)('gradient through %s', async (_name, scoreMod, dense) => {
        const inputs = [pair([1, heads, L, 8]), pair([1, 2, L, 8]), pair([1, 2, L, 8])];
        const dy = pair([1, heads, L, 8]);
        const window = slidingWindow(6);
        const sparse = (xs: Tensor[]) =>
          blockSparseAttention(xs[0]!, xs[1]!, xs[2]!, window, {
            scoreMod,
            blockSize: 5,
            enableGqa: true,
          });
        const options = dense();
        const mask = maskToTensor(window, { qLen: L, kvLen: L });
        const reference = valueAndGrads((...xs: Tensor[]) =>
          options
            ? attention(xs[0]!, xs[1]!, xs[2]!, { ...options, attnMask: mask, enableGqa: true })
            : sparse(xs),
        )(
          inputs.map(([r]) => r),
          dy[0],
        );
        const actual = grads((...xs: Tensor[]) => sparse(xs))(
          inputs.map(([, w]) => w),
          dy[1],
        );
        for (const [i, g] of actual.entries()) {
          expect(g.device).toBe(device);
          expectClose(await g.data(), await reference.grads[i]!.data(), tol);
        }
        const extras = [mask, options?.alibiSlopes, options?.bias].filter((t) => t !== undefined);
        for (const t of [
          reference.value,
          ...reference.grads,
          ...actual,
          ...extras,
          ...inputs.flat(),
          ...dy,
        ]) {
          t.dispose();
        }
      });

      it('a score modifier takes the reference kernel', async () => {
        const blocks = createBlockMask(causal(), { qLen: 40, kvLen: 40, blockSize: 16 });
        await compare([pair([1, 2, 40, 8]), pair([1, 2, 40, 8]), pair([1, 2, 40, 8])], (xs) =>
          blockSparseAttention(xs[0]!, xs[1]!, xs[2]!, blocks, { scoreMod: alibi(2) }),
        );
      });
    });

    it('got the threads it asked for', () => {
      expect(device.threads).toBe(threads);
    });

    if (threads > 1) {
      it('reports a worker whose kernel traps instead of waiting for it forever', async () => {
        // A read far past the end of memory traps inside the worker.
        const outOfBounds = ['matmul', [2 ** 31, 0, 0, 4, 8, 4, 4, 1, 8, 1, 0]] as const;
        expect(() => device.module.parallel([[], [outOfBounds]])).toThrow(/worker thread failed/);
        // The pool still works afterwards.
        await compare([pair([9, 5]), pair([5, 11])], ([x, y]) => matmul(x!, y!));
      });
    }
  });
}
