import { reference as conformanceReference, noGpuTest } from '@qkv/conformance';
import { createWebGPUDevice } from '@qkv/kernels';
import {
  cpu,
  type Device,
  QkvError,
  type RopeStyle,
  randn,
  rope,
  scope,
  type Tensor,
  tensor,
} from '@qkv/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRope, RotaryEmbedding } from './rope.js';
import { ropeInvFreq } from './rope-frequencies.js';
import { fixtures, mismatches } from './testing/fixtures.js';
import { expectNoLeaks } from './testing/leaks.js';

const device = cpu();
expectNoLeaks();

const { refRope, ropeRowPositions } = conformanceReference;

/** The float64 RoPE reference of @qkv/conformance for x `[..., S, D]` and its ids. */
function reference(
  x: Float32Array,
  shape: readonly number[],
  positions: readonly number[],
  perBatch: boolean,
  invFreq: Float64Array,
  style: RopeStyle,
  scaling: number,
): number[] {
  const positionOf = ropeRowPositions(shape, positions, perBatch);
  return refRope(x, shape[shape.length - 1]!, invFreq, style, scaling, positionOf);
}

/**
 * Backends the op-level tests run on: the CPU, and WebGPU (SwiftShader without a GPU). The
 * tests read results with `await data()`, so they run unchanged on both.
 */
const BACKENDS: [string, () => Device][] = [['cpu', cpu]];
const gpu = await createWebGPUDevice({ poison: true }).catch((error: Error) => error);
if (gpu instanceof Error) noGpuTest('rope op on webgpu', gpu.message);
else BACKENDS.push(['webgpu', () => gpu]);

const REFERENCE_CASES: {
  shape: number[];
  style: RopeStyle;
  rotaryDim: number;
  perBatch: boolean;
  theta: number;
  scaling: number;
}[] = [
  { shape: [5, 8], style: 'half', rotaryDim: 8, perBatch: false, theta: 10000, scaling: 1 },
  { shape: [2, 3, 7, 10], style: 'half', rotaryDim: 6, perBatch: false, theta: 500, scaling: 1 },
  {
    shape: [2, 3, 7, 10],
    style: 'interleaved',
    rotaryDim: 10,
    perBatch: true,
    theta: 1e4,
    scaling: 1.2,
  },
  {
    shape: [3, 11, 18],
    style: 'interleaved',
    rotaryDim: 4,
    perBatch: true,
    theta: 1e6,
    scaling: 1,
  },
  { shape: [1, 2, 1, 2], style: 'half', rotaryDim: 2, perBatch: true, theta: 10, scaling: 0.5 },
];

/** Run the rope op on `device` and read the result; every tensor made here is disposed. */
async function runRope(
  device: Device,
  x: { data: Float32Array; shape: number[]; dtype?: 'float32' | 'float16' },
  ids: { data: Int32Array; shape: number[] },
  invFreq: Float32Array,
  attrs: { style: RopeStyle; rotaryDim: number; attentionScaling: number },
): Promise<Float32Array> {
  const tensors = [
    tensor(x.data, x.shape, { dtype: x.dtype ?? 'float32', device }),
    tensor(ids.data, ids.shape, { dtype: 'int32', device }),
    tensor(invFreq, [invFreq.length], { dtype: 'float32', device }),
  ] as const;
  const out = rope(tensors[0], tensors[1], tensors[2], attrs);
  try {
    expect([out.shape, out.dtype]).toEqual([x.shape, x.dtype ?? 'float32']);
    return (await out.data()) as Float32Array;
  } finally {
    for (const t of [...tensors, out]) t.dispose();
  }
}

for (const [backend, getDevice] of BACKENDS) {
  describe(`rope op on ${backend} against a float64 reference`, () => {
    for (const [n, c] of REFERENCE_CASES.entries()) {
      it(`case ${n}: ${c.style} [${c.shape.join(', ')}] rotaryDim ${c.rotaryDim}${c.perBatch ? ', per-batch ids' : ''}`, async () => {
        const seq = c.shape[c.shape.length - 2]!;
        const ids = Array.from(
          { length: (c.perBatch ? c.shape[0]! : 1) * seq },
          (_, i) => (i * 7919 + n * 13) % 4099,
        );
        const host = randn(c.shape, { seed: 100 + n });
        const x = host.dataSync() as Float32Array;
        host.dispose();
        const { invFreq } = ropeInvFreq({ rotaryDim: c.rotaryDim, theta: c.theta });
        const out = await runRope(
          getDevice(),
          { data: x, shape: c.shape },
          { data: Int32Array.from(ids), shape: c.perBatch ? [c.shape[0]!, seq] : [seq] },
          Float32Array.from(invFreq),
          { style: c.style, rotaryDim: c.rotaryDim, attentionScaling: c.scaling },
        );
        const expected = reference(x, c.shape, ids, c.perBatch, invFreq, c.style, c.scaling);
        expect(mismatches(out, expected, 1e-6, 1e-6)).toEqual([]);
      });
    }

    it('float16 input rounds the result to half precision', async () => {
      const host = randn([4, 8], { seed: 7, dtype: 'float16' });
      const x = host.dataSync() as Float32Array;
      host.dispose();
      const ids = [0, 5, 9, 200];
      const { invFreq } = ropeInvFreq({ rotaryDim: 8 });
      const out = await runRope(
        getDevice(),
        { data: x, shape: [4, 8], dtype: 'float16' },
        { data: Int32Array.from(ids), shape: [4] },
        Float32Array.from(invFreq),
        { style: 'half', rotaryDim: 8, attentionScaling: 1 },
      );
      const expected = reference(x, [4, 8], ids, false, invFreq, 'half', 1);
      expect(mismatches(out, expected, 1e-3, 1e-3)).toEqual([]);
    });
  });

  describe(`rope op on ${backend} against PyTorch (rotate_half / rotate_every_two)`, () => {
    for (const [n, f] of fixtures.rope.entries()) {
      it(`case ${n}: ${f.style} [${f.shape.join(', ')}] ${f.config.scaling?.type ?? 'default'}, PyTorch's float32 table`, async () => {
        const out = await runRope(
          getDevice(),
          { data: Float32Array.from(f.x), shape: f.shape },
          { data: Int32Array.from(f.positions), shape: f.positionsShape },
          Float32Array.from(f.invFreq),
          { style: f.style, rotaryDim: f.invFreq.length * 2, attentionScaling: f.attentionScaling },
        );
        // Same float32 angles: only cos / sin and the float32 products differ.
        expect(mismatches(out, f.out, 1e-6, 1e-5)).toEqual([]);
      });
    }
  });

  describe(`RotaryEmbedding on ${backend}: int32 position tensors with length-dependent scaling`, () => {
    const scalings = [
      { type: 'dynamic', factor: 2, maxPositionEmbeddings: 16 },
      {
        type: 'longrope',
        shortFactor: [1, 1.5, 2, 3],
        longFactor: [2, 4, 8, 16],
        originalMaxPositionEmbeddings: 16,
        maxPositionEmbeddings: 64,
      },
    ] as const;
    for (const scaling of scalings) {
      it(`${scaling.type}: seqLen defaults to the largest position + 1 where the host can read the ids, and is required where it cannot`, async () => {
        const device = getDevice();
        const ids = [0, 40, 3];
        const host = randn([2, 3, 8], { seed: 31 });
        const x = tensor(host.dataSync(), [2, 3, 8], { device });
        const idTensor = tensor(Int32Array.from(ids), [3], { dtype: 'int32', device });
        host.dispose();
        const fromHostIds = new RotaryEmbedding({ rotaryDim: 8, scaling });
        const fromTensor = new RotaryEmbedding({ rotaryDim: 8, scaling });
        try {
          const reference = fromHostIds.apply(x, { positions: ids });
          const expected = await reference.data();
          reference.dispose();
          const out = device.readSync
            ? fromTensor.apply(x, { positions: idTensor })
            : fromTensor.apply(x, { positions: idTensor, seqLen: 41 });
          expect(Array.from(await out.data())).toEqual(Array.from(expected));
          out.dispose();
          if (!device.readSync) {
            expect(() => fromTensor.apply(x, { positions: idTensor })).toThrow(
              new RegExp(
                `RotaryEmbedding.apply: ${scaling.type} scaling depends on the sequence length and the positions live on .*; pass seqLen \\(largest position \\+ 1\\)`,
              ),
            );
          }
        } finally {
          for (const t of [x, idTensor]) t.dispose();
          fromHostIds.dispose();
          fromTensor.dispose();
        }
      });
    }
  });
}

describe('applyRope against PyTorch with its own float64-derived tables', () => {
  for (const [n, f] of fixtures.rope.entries()) {
    it(`case ${n}: ${f.style} [${f.shape.join(', ')}] ${f.config.scaling?.type ?? 'default'}`, () => {
      scope(() => {
        const x = tensor(Float32Array.from(f.x), f.shape);
        const positions = tensor(Int32Array.from(f.positions), f.positionsShape, {
          dtype: 'int32',
        });
        const out = applyRope(x, { ...f.config, style: f.style, positions });
        // Tables differ from PyTorch's float32 evaluation by about an ulp, which positions
        // up to 3000 turn into angle differences up to ~3000 · 2^-24 · invFreq.
        expect(mismatches(out.dataSync(), f.out, 1e-4, 1e-4)).toEqual([]);
      });
    });
  }
});

describe('RoPE properties (fast-check)', () => {
  const config = fc.record({
    half: fc.integer({ min: 1, max: 12 }),
    extra: fc.integer({ min: 0, max: 5 }),
    style: fc.constantFrom<RopeStyle>('half', 'interleaved'),
    theta: fc.constantFrom(100, 10000, 500000),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });

  it('rotation preserves the norm of every row (attention scaling 1)', () => {
    fc.assert(
      fc.property(
        config,
        fc.array(fc.integer({ min: 0, max: 100000 }), { minLength: 1, maxLength: 6 }),
        (c, ids) => {
          scope(() => {
            const dim = 2 * c.half + c.extra;
            const x = randn([ids.length, dim], { seed: c.seed });
            const out = applyRope(x, {
              rotaryDim: 2 * c.half,
              theta: c.theta,
              style: c.style,
              positions: ids,
            });
            const a = x.dataSync();
            const b = out.dataSync();
            for (let r = 0; r < ids.length; r++) {
              let na = 0;
              let nb = 0;
              for (let j = 0; j < dim; j++) {
                na += a[r * dim + j]! ** 2;
                nb += b[r * dim + j]! ** 2;
              }
              expect(Math.abs(Math.sqrt(nb) - Math.sqrt(na))).toBeLessThanOrEqual(
                1e-5 * Math.sqrt(na) + 1e-6,
              );
            }
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('q·k depends only on the relative position', () => {
    fc.assert(
      fc.property(
        config,
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        (c, m, n, shift) => {
          scope(() => {
            const dim = 2 * c.half + c.extra;
            const q = randn([1, dim], { seed: c.seed });
            const k = randn([1, dim], { seed: c.seed + 1 });
            const rotary = new RotaryEmbedding({
              rotaryDim: 2 * c.half,
              theta: c.theta,
              style: c.style,
            });
            const dot = (p: number, s: number) => {
              const qa = rotary.apply(q, { positions: [p] }).dataSync();
              const ka = rotary.apply(k, { positions: [s] }).dataSync();
              let acc = 0;
              for (let j = 0; j < dim; j++) acc += qa[j]! * ka[j]!;
              return acc;
            };
            const a = dot(m, n);
            const b = dot(m + shift, n + shift);
            rotary.dispose();
            // float32 angles up to ~1000 rad carry ~6e-5 absolute error each.
            expect(Math.abs(a - b)).toBeLessThanOrEqual(2e-3 * (1 + Math.abs(a)) * Math.sqrt(dim));
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('RotaryEmbedding', () => {
  it('defaults positions to offset + 0..S-1 and matches explicit ids', () => {
    scope(() => {
      const x = randn([2, 4, 6, 8], { seed: 3 });
      const rotary = new RotaryEmbedding({ headDim: 8 });
      const a = rotary.apply(x, { offset: 10 }).dataSync();
      const b = rotary.apply(x, { positions: [10, 11, 12, 13, 14, 15] }).dataSync();
      const c = rotary
        .apply(x, {
          positions: tensor(Int32Array.from([10, 11, 12, 13, 14, 15]), [6], { dtype: 'int32' }),
        })
        .dataSync();
      expect(a).toEqual(b);
      expect(a).toEqual(c);
      rotary.dispose();
    });
  });

  it('per-batch host ids equal per-row ids applied batch by batch (packed sequences)', () => {
    scope(() => {
      const x = randn([2, 3, 4, 6], { seed: 9 });
      const rotary = new RotaryEmbedding({ rotaryDim: 4, style: 'interleaved' });
      const both = rotary.apply(x, { positions: [0, 1, 2, 3, 7, 8, 0, 1] }).dataSync();
      const data = x.dataSync();
      const half = data.length / 2;
      const first = rotary
        .apply(tensor(data.slice(0, half), [3, 4, 6]), { positions: [0, 1, 2, 3] })
        .dataSync();
      const second = rotary
        .apply(tensor(data.slice(half), [3, 4, 6]), { positions: [7, 8, 0, 1] })
        .dataSync();
      expect(both.slice(0, half)).toEqual(first);
      expect(both.slice(half)).toEqual(second);
      rotary.dispose();
    });
  });

  it('dynamic NTK picks its table from the largest position', () => {
    scope(() => {
      const scaling = { type: 'dynamic', factor: 2, maxPositionEmbeddings: 16 } as const;
      const rotary = new RotaryEmbedding({ rotaryDim: 8, scaling });
      const x = randn([3, 8], { seed: 5 });
      const auto = rotary.apply(x, { positions: [0, 40, 3] }).dataSync();
      const explicit = applyRope(x, {
        rotaryDim: 8,
        scaling: { ...scaling, seqLen: 41 },
        positions: [0, 40, 3],
      }).dataSync();
      const plain = applyRope(x, { rotaryDim: 8, positions: [0, 40, 3] }).dataSync();
      expect(auto).toEqual(explicit);
      expect(auto).not.toEqual(plain);
      rotary.dispose();
    });
  });

  it("dynamic NTK's table grows with the longest sequence and resets below the pretrained length (Hugging Face)", () => {
    scope(() => {
      const scaling = { type: 'dynamic', factor: 2, maxPositionEmbeddings: 16 } as const;
      const rotary = new RotaryEmbedding({ rotaryDim: 8, scaling });
      const x = randn([1, 8], { seed: 9 });
      // A fresh embedding told the length: the stateless table for it.
      const withTable = (seqLen: number, position: number) =>
        applyRope(x, { rotaryDim: 8, scaling, positions: [position], seqLen }).dataSync();
      const step = (position: number) => rotary.apply(x, { positions: [position] }).dataSync();
      expect(rotary.tableLength).toBe(16);
      expect(step(39)).toEqual(withTable(40, 39));
      expect(rotary.tableLength).toBe(40);
      // Shorter, still past 16: the grown table stays (a stateless one would use 21).
      expect(step(20)).toEqual(withTable(40, 20));
      expect(step(20)).not.toEqual(withTable(21, 20));
      expect(rotary.tableLength).toBe(40);
      // A call that fits in the pretrained length goes back to the original table.
      expect(step(3)).toEqual(withTable(16, 3));
      expect(rotary.tableLength).toBe(16);
      expect(step(20)).toEqual(withTable(21, 20));
      expect(rotary.tableLength).toBe(21);
      // A call that throws leaves the table where it was.
      const ints = tensor(
        Int32Array.from({ length: 8 }, (_, i) => i),
        [1, 8],
        { dtype: 'int32' },
      );
      expect(() => rotary.apply(ints, { positions: [99] })).toThrow(/x must be float32 or float16/);
      expect(rotary.tableLength).toBe(21);
      rotary.dispose();
    });
  });

  it('keeps its cached table alive across scopes', () => {
    const rotary = new RotaryEmbedding({ rotaryDim: 4 });
    const x = randn([2, 4], { seed: 1 });
    const first = scope(() => rotary.apply(x).dataSync());
    const second = scope(() => rotary.apply(x).dataSync());
    expect(first).toEqual(second);
    rotary.dispose();
    x.dispose();
  });
});

describe('RoPE errors', () => {
  const x = () => randn([2, 3, 8], { seed: 1 });
  const expectError = (fn: (t: Tensor) => unknown, message: RegExp) => {
    const t = x();
    try {
      expect(() => fn(t)).toThrow(QkvError);
      expect(() => fn(t)).toThrow(message);
    } finally {
      t.dispose();
    }
  };

  it('negative or non-integer positions', () => {
    expectError(
      (t) => applyRope(t, { positions: [0, -1, 2] }),
      /position 1 is -1; positions must be non-negative/,
    );
    expectError((t) => applyRope(t, { positions: [0, 1.5, 2] }), /position 1 is 1.5/);
    const ids = tensor(Int32Array.from([0, 3, -2]), [3], { dtype: 'int32' });
    expectError((t) => applyRope(t, { positions: ids }), /position 2 is -2/);
    ids.dispose();
  });

  it('positions that fit neither [S] nor [B, S]', () => {
    expectError(
      (t) => applyRope(t, { positions: [0, 1] }),
      /2 positions do not fit x \[2, 3, 8\]: give 3 .* or 2 × 3/,
    );
  });

  it('a sequence length that is not a positive integer', () => {
    expectError((t) => applyRope(t, { seqLen: 0 }), /seqLen must be a positive integer, got 0/);
  });

  it('odd or oversized rotary dims', () => {
    expectError((t) => applyRope(t, { rotaryDim: 5 }), /even integer >= 2, got 5/);
    expectError(
      (t) => applyRope(t, { rotaryDim: 10 }),
      /rotaryDim 10 exceeds the last dimension of x \[2, 3, 8\]/,
    );
  });

  it('the op itself validates shapes and dtypes', () => {
    scope(() => {
      const t = randn([2, 3, 8], { seed: 1 });
      const ids = tensor(Int32Array.from([0, 1, 2]), [3], { dtype: 'int32' });
      const freqs = tensor(new Float32Array(4), [4]);
      expect(() => rope(t, ids, tensor(new Float32Array(3), [3]))).toThrow(
        /invFreq must be \[4\] \(rotaryDim \/ 2\) float32, got \[3\] float32/,
      );
      expect(() => rope(t, tensor([0, 1, 2], [3]), freqs)).toThrow(
        /positions must have dtype int32, got \[3\] float32/,
      );
      expect(() =>
        rope(t, tensor(Int32Array.from([0, 1, 2, 3, 4, 5]), [3, 2], { dtype: 'int32' }), freqs),
      ).toThrow(/positions must be \[3\] or \[2, 3\]/);
      expect(() => rope(t, ids, freqs, { style: 'spiral' as RopeStyle })).toThrow(
        /style must be 'half' or 'interleaved'/,
      );
      expect(() =>
        rope(tensor(Int32Array.from([1, 2]), [1, 2], { dtype: 'int32' }), ids, freqs),
      ).toThrow(/x must be float32 or float16/);
    });
  });

  it('scaling that needs a length with positions it cannot read', () => {
    // A device without synchronous reads stands in for a GPU here.
    const t = randn([1, 2, 4], { seed: 2 });
    const ids = tensor(Int32Array.from([0, 1]), [2], { dtype: 'int32' });
    const hidden = Object.create(ids, {
      device: { get: () => ({ ...device, readSync: undefined, name: 'fake-gpu' }) },
    });
    expect(() =>
      applyRope(t, {
        rotaryDim: 4,
        scaling: { type: 'dynamic', factor: 2, maxPositionEmbeddings: 8 },
        positions: hidden,
      }),
    ).toThrow(/dynamic scaling depends on the sequence length .* pass seqLen/);
    t.dispose();
    ids.dispose();
  });
});
