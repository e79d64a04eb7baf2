import { describe, expect, it } from 'vitest';
import {
  joinParams,
  NO_PARAMS,
  packParams,
  paramBlock,
  paramSignature,
  paramStruct,
  shaderKey,
  textId,
} from './params.js';

const fields = {
  dim: 'u32',
  offset: 'i32',
  scale: 'f32',
  shape: ['u32', 3],
  none: ['u32', 0],
} as const;

describe('kernel parameters', () => {
  it('declare a WGSL struct in field order, count first, empty arrays left out', () => {
    expect(paramStruct(fields)).toBe(
      'struct Params {\n  count: u32,\n  dim: u32,\n  offset: i32,\n  scale: f32,\n  shape: array<u32, 3>,\n}',
    );
    expect(paramStruct({})).toBe('struct Params {\n  count: u32,\n}');
  });

  it('pack values into the struct layout: i32 as two’s complement, f32 as its bits', () => {
    const words = packParams(
      7,
      paramBlock(fields, { dim: 64, offset: -3, scale: 0.125, shape: [2, 5, 11], none: [] }),
    );
    const f32 = new Float32Array(new Uint32Array([words[3]!]).buffer)[0];
    expect([...words.slice(0, 3)]).toEqual([7, 64, 2 ** 32 - 3]);
    expect(f32).toBe(0.125);
    expect([...words.slice(4)]).toEqual([2, 5, 11]);
    expect(packParams(9, NO_PARAMS)).toEqual(new Uint32Array([9]));
  });

  it('reject values that do not fit their field, naming it', () => {
    const one = (v: number) => paramBlock({ n: 'u32' }, { n: v });
    expect(() => packParams(1, one(-1))).toThrow(/kernel parameter n: -1 is not a u32/);
    expect(() => packParams(1, one(1.5))).toThrow(/n: 1.5 is not a u32/);
    expect(() => packParams(1, paramBlock({ k: 'i32' }, { k: 2 ** 31 }))).toThrow(/not an i32/);
    const short = paramBlock({ s: ['u32', 2] }, { s: [1] });
    expect(() => packParams(1, short)).toThrow(/kernel parameter s: needs 2 values/);
    expect(() => packParams(-1, NO_PARAMS)).toThrow(/count: -1 is not a u32/);
  });

  it('join blocks, refusing a name declared twice', () => {
    const a = paramBlock({ x: 'u32' }, { x: 1 });
    const b = paramBlock({ y: 'f32' }, { y: 2 });
    expect(paramSignature(joinParams(a, b).fields)).toBe('x:u32,y:f32');
    expect(() => joinParams(a, a)).toThrow(/"x" is declared twice/);
  });

  it('make pipeline keys from the specialisation record, and ids for inlined text', () => {
    expect(shaderKey('rope', { style: 'half', rotaryDim: 64, in: ['float32', 'int32'] })).toBe(
      'rope:style=half:rotaryDim=64:in=float32,int32',
    );
    expect(paramSignature(fields)).toBe('dim:u32,offset:i32,scale:f32,shape:u32[3],none:u32[0]');
    const id = textId('fn mask_mod() -> bool { return true; }');
    expect(textId('fn mask_mod() -> bool { return true; }')).toBe(id);
    expect(textId('fn mask_mod() -> bool { return false; }')).not.toBe(id);
  });
});
