import { QkvError } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { type RopeConfig, ropeInvFreq } from './rope-frequencies.js';
import { fixtures, mismatches } from './testing/fixtures.js';

/** θ^(-2i/d), written independently of the module's helpers. */
function plain(theta: number, dim: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < dim; i += 2) out.push(Math.exp((-i / dim) * Math.log(theta)));
  return out;
}

describe('ropeInvFreq against float64 formulas', () => {
  it('default: 1 / θ^(2i/d)', () => {
    for (const [dim, theta] of [
      [2, 10000],
      [64, 10000],
      [80, 500000],
      [128, 1e6],
    ] as const) {
      const { invFreq, attentionScaling } = ropeInvFreq({ rotaryDim: dim, theta });
      expect(mismatches(invFreq, plain(theta, dim), 0, 1e-14)).toEqual([]);
      expect(attentionScaling).toBe(1);
    }
  });

  it('headDim with partialRotaryFactor truncates like int() (GPT-NeoX 0.25 of 96 = 24)', () => {
    expect(ropeInvFreq({ headDim: 96, partialRotaryFactor: 0.25 }).rotaryDim).toBe(24);
    expect(ropeInvFreq({ headDim: 80, partialRotaryFactor: 0.4 }).rotaryDim).toBe(32);
  });

  it('linear divides every frequency by the factor', () => {
    const { invFreq } = ropeInvFreq({ rotaryDim: 32, scaling: { type: 'linear', factor: 4 } });
    expect(
      mismatches(
        invFreq,
        plain(10000, 32).map((f) => f / 4),
        0,
        1e-14,
      ),
    ).toEqual([]);
  });

  it('dynamic NTK leaves short sequences alone and grows the base past the trained length', () => {
    const scaling = { type: 'dynamic', factor: 2, maxPositionEmbeddings: 2048 } as const;
    const short = ropeInvFreq({ rotaryDim: 64, scaling: { ...scaling, seqLen: 1000 } });
    expect(mismatches(short.invFreq, plain(10000, 64), 0, 1e-14)).toEqual([]);
    const long = ropeInvFreq({ rotaryDim: 64, scaling: { ...scaling, seqLen: 8192 } });
    const base = 10000 * ((2 * 8192) / 2048 - 1) ** (64 / 62);
    expect(mismatches(long.invFreq, plain(base, 64), 0, 1e-13)).toEqual([]);
  });

  it('llama3 keeps high frequencies, divides low ones, blends the middle', () => {
    const scaling = {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    } as const;
    const { invFreq } = ropeInvFreq({ rotaryDim: 128, theta: 500000, scaling });
    const base = plain(500000, 128);
    let kept = 0;
    let divided = 0;
    let blended = 0;
    base.forEach((f, i) => {
      const wavelen = (2 * Math.PI) / f;
      const got = invFreq[i]!;
      if (wavelen < 8192 / 4) {
        expect(got).toBeCloseTo(f, 15);
        kept++;
      } else if (wavelen > 8192) {
        expect(got / (f / 8)).toBeCloseTo(1, 12);
        divided++;
      } else {
        const smooth = (8192 / wavelen - 1) / 3;
        expect(got / ((1 - smooth) * (f / 8) + smooth * f)).toBeCloseTo(1, 12);
        blended++;
      }
    });
    expect([kept > 0, divided > 0, blended > 0]).toEqual([true, true, true]);
  });

  it('yarn: extrapolates fast dimensions, interpolates slow ones, 0.1 ln s + 1 attention', () => {
    const dim = 64;
    const { invFreq, attentionScaling } = ropeInvFreq({
      rotaryDim: dim,
      scaling: { type: 'yarn', factor: 16, originalMaxPositionEmbeddings: 4096 },
    });
    expect(attentionScaling).toBeCloseTo(0.1 * Math.log(16) + 1, 15);
    const correction = (r: number) =>
      (dim * Math.log(4096 / (r * 2 * Math.PI))) / (2 * Math.log(10000));
    const low = Math.max(0, Math.floor(correction(32)));
    const high = Math.min(dim - 1, Math.ceil(correction(1)));
    plain(10000, dim).forEach((f, i) => {
      const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
      const expected = (f / 16) * ramp + f * (1 - ramp);
      expect(invFreq[i]! / expected).toBeCloseTo(1, 13);
    });
    expect(invFreq[0]).toBe(1);
    expect(invFreq[dim / 2 - 1]! / (plain(10000, dim)[dim / 2 - 1]! / 16)).toBeCloseTo(1, 13);
  });

  it('yarn mscale / mscaleAllDim (DeepSeek) and factor from the context lengths', () => {
    const m = (s: number, k: number) => 0.1 * k * Math.log(s) + 1;
    const a = ropeInvFreq({
      rotaryDim: 64,
      scaling: {
        type: 'yarn',
        factor: 40,
        originalMaxPositionEmbeddings: 4096,
        mscale: 0.75,
        mscaleAllDim: 1,
      },
    });
    expect(a.attentionScaling).toBeCloseTo(m(40, 0.75) / m(40, 1), 15);
    const b = ropeInvFreq({
      rotaryDim: 64,
      scaling: { type: 'yarn', originalMaxPositionEmbeddings: 4096, maxPositionEmbeddings: 16384 },
    });
    expect(b.attentionScaling).toBeCloseTo(m(4, 1), 15);
  });

  it('longrope picks short factors up to the original length and long ones past it', () => {
    const short = Array.from({ length: 8 }, (_, i) => 1 + i / 10);
    const long = Array.from({ length: 8 }, (_, i) => 2 + i);
    const scaling = {
      type: 'longrope',
      shortFactor: short,
      longFactor: long,
      originalMaxPositionEmbeddings: 4096,
      maxPositionEmbeddings: 131072,
    } as const;
    const base = plain(10000, 16);
    const s = ropeInvFreq({ rotaryDim: 16, scaling });
    const l = ropeInvFreq({ rotaryDim: 16, scaling: { ...scaling, seqLen: 4097 } });
    expect(
      mismatches(
        s.invFreq,
        base.map((f, i) => f / short[i]!),
        0,
        1e-14,
      ),
    ).toEqual([]);
    expect(
      mismatches(
        l.invFreq,
        base.map((f, i) => f / long[i]!),
        0,
        1e-14,
      ),
    ).toEqual([]);
    expect(s.attentionScaling).toBeCloseTo(Math.sqrt(1 + Math.log(32) / Math.log(4096)), 15);
  });
});

describe('ropeInvFreq against PyTorch fixtures', () => {
  for (const [n, f] of fixtures.ropeFrequencies.entries()) {
    const type = f.config.scaling?.type ?? 'default';
    it(`case ${n}: ${type}, rotaryDim ${f.config.rotaryDim}`, () => {
      const { invFreq, attentionScaling } = ropeInvFreq(f.config);
      // PyTorch evaluated the formulas in float32.
      expect(mismatches(invFreq, f.invFreq, 0, 2e-6)).toEqual([]);
      expect(attentionScaling).toBeCloseTo(f.attentionScaling, 12);
    });
  }
});

describe('ropeInvFreq rejects bad configurations', () => {
  const cases: [string, RopeConfig, RegExp][] = [
    ['odd rotary dim', { rotaryDim: 63 }, /even integer >= 2, got 63/],
    ['odd partial rotary', { headDim: 10, partialRotaryFactor: 0.5 }, /got 5 \(headDim 10/],
    ['no dim', {}, /give rotaryDim, or headDim/],
    ['theta <= 0', { rotaryDim: 8, theta: 0 }, /theta must be a finite number > 0/],
    [
      'linear factor < 1',
      { rotaryDim: 8, scaling: { type: 'linear', factor: 0.5 } },
      /factor >= 1, got 0.5/,
    ],
    [
      'dynamic without max length',
      { rotaryDim: 8, scaling: { type: 'dynamic', factor: 2 } as never },
      /maxPositionEmbeddings must be/,
    ],
    [
      'yarn without factor or lengths',
      { rotaryDim: 8, scaling: { type: 'yarn', originalMaxPositionEmbeddings: 4096 } },
      /needs factor, or maxPositionEmbeddings/,
    ],
    [
      'llama3 high <= low',
      {
        rotaryDim: 8,
        scaling: {
          type: 'llama3',
          factor: 8,
          lowFreqFactor: 4,
          highFreqFactor: 1,
          originalMaxPositionEmbeddings: 8192,
        },
      },
      /highFreqFactor > lowFreqFactor/,
    ],
    [
      'longrope wrong length',
      {
        rotaryDim: 8,
        scaling: {
          type: 'longrope',
          shortFactor: [1, 1],
          longFactor: [1, 1, 1, 1],
          originalMaxPositionEmbeddings: 4096,
          factor: 2,
        },
      },
      /shortFactor must be 4 \(rotaryDim \/ 2\) positive numbers, got 2 values/,
    ],
    [
      'unknown type',
      { rotaryDim: 8, scaling: { type: 'ntk-by-parts' } as never },
      /unknown scaling type/,
    ],
  ];
  for (const [name, config, message] of cases) {
    it(name, () => {
      expect(() => ropeInvFreq(config)).toThrow(QkvError);
      expect(() => ropeInvFreq(config)).toThrow(message);
    });
  }
});
