import { Random } from '@qkv/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJs } from './compile-js.js';
import { type Expr, f32, floorDiv, kvIdx, lit, mod, param, qIdx, score, where } from './expr.js';
import { indexed } from './indexed-tensor.js';
import { maskFromPredicate } from './mask.js';
import { causal, documentMask, slidingWindow } from './patterns.js';
import { alibi, composeScoreMods, relativeBias, softCap, t5Bias } from './score-mods.js';
import { PATTERN_KINDS, randomPattern } from './test-masks.js';
import { toWgsl, type WgslSnippet } from './wgsl.js';

/**
 * Run generated WGSL as JavaScript: the snippets only use functions, lets, `select`,
 * arithmetic, comparisons and array reads, whose WGSL meaning maps directly onto JS once
 * literal suffixes and types are stripped and i32 division truncates. This checks the code
 * generator's semantics (precedence, clamping, helpers, bindings) without a GPU.
 */
function runWgslAsJs(snippet: WgslSnippet): {
  mask?: (b: number, h: number, q: number, k: number) => boolean;
  score?: (s: number, b: number, h: number, q: number, k: number) => number;
} {
  const code = snippet.code
    .replace(/^@group.*$/gm, '')
    .replace(/^struct [\s\S]*?^}/gm, '')
    .replace(/fn (\w+)\(([^)]*)\) -> (\w+) \{([\s\S]*?)\n\}/g, (_m, name, params, type, body) => {
      const args = params
        .split(',')
        .map((p: string) => p.split(':')[0]!.trim())
        .join(', ');
      // WGSL i32 division truncates toward zero.
      const fixed = type === 'i32' ? body.replace(/(\w+) \/ (\w+)/g, 'Math.trunc($1 / $2)') : body;
      return `function ${name}(${args}) {${fixed}\n}`;
    })
    // The NaN test of the shared tanh helper (@qkv/tensor's wgslTanh) is a bit test.
    .replace(/\(bitcast<u32>\((\w+)\) & 0x7fffffffu\) > 0x7f800000u/g, 'Number.isNaN($1)')
    .replace(/\b(\d+(?:\.\d*)?(?:e[+-]?\d+)?)[fi]\b/g, '$1')
    .replace(/\bselect\(/g, '__select(')
    .replace(/\bclamp\(/g, '__clamp(')
    .replace(/\bf32\(/g, 'Number(')
    .replace(/\b(abs|min|max|floor|tanh)\(/g, 'Math.$1(');
  const uniform = snippet.bindings.find((x) => x.kind === 'uniform');
  const tables = snippet.bindings.filter((x) => x.kind === 'storage');
  const params: Record<string, number> = {};
  if (uniform) {
    const names = [...snippet.code.matchAll(/^ {2}(\w+): (i32|f32),$/gm)];
    const bytes = uniform.data.buffer as ArrayBuffer;
    names.forEach(([, name, type], i) => {
      params[name!] = type === 'i32' ? new Int32Array(bytes)[i]! : new Float32Array(bytes)[i]!;
    });
  }
  const prelude =
    'const __select = (f, t, c) => (c ? t : f);\n' +
    'const __clamp = (x, lo, hi) => Math.min(Math.max(x, lo), hi);\n';
  const names = [...tables.map((t) => t.name), uniform?.name ?? '__unused'];
  const exports = `return { mask: typeof ${snippet.maskFunction ?? 'undefined'} === 'function' ? ${snippet.maskFunction ?? 'undefined'} : undefined, score: typeof ${snippet.scoreFunction ?? 'undefined'} === 'function' ? ${snippet.scoreFunction ?? 'undefined'} : undefined };`;
  const factory = new Function(...names, prelude + code + exports);
  return factory(...tables.map((t) => t.data), params);
}

function expectSameMask(mask: Expr, n: number): void {
  const js = compileJs(mask);
  const wgsl = runWgslAsJs(toWgsl(mask)).mask!;
  for (let bi = 0; bi < 2; bi++) {
    for (let q = -2; q < n; q++) {
      for (let k = -2; k < n; k++) {
        expect(wgsl(bi, 1, q, k), `b=${bi} q=${q} k=${k} ${mask}`).toBe(js(bi, 1, q, k, 0) === 1);
      }
    }
  }
}

describe('toWgsl', () => {
  it('declares the function, helpers and bindings a mask needs', () => {
    const seg = indexed('seg', [0, 0, 1, 1, 1]);
    const snippet = toWgsl(
      seg
        .at(qIdx)
        .eq(seg.at(kvIdx))
        .and(floorDiv(qIdx, 2).ge(mod(kvIdx, 3))),
      {
        group: 2,
        firstBinding: 3,
      },
    );
    expect(snippet.maskFunction).toBe('mask_mod');
    expect(snippet.maskExpression).toBe(
      '((qkv_seg[clamp(q_idx, 0i, 4i)] == qkv_seg[clamp(kv_idx, 0i, 4i)]) && (qkv_floor_div(q_idx, 2i) >= qkv_mod(kv_idx, 3i)))',
    );
    expect(snippet.scoreExpression).toBeUndefined();
    expect(snippet.code).toContain(
      'fn mask_mod(b: i32, h: i32, q_idx: i32, kv_idx: i32) -> bool {',
    );
    expect(snippet.code).toContain('@group(2) @binding(3) var<storage, read> qkv_seg: array<i32>;');
    expect(snippet.code).toContain('fn qkv_floor_div(a: i32, d: i32) -> i32');
    expect(snippet.code).toContain('fn qkv_mod(a: i32, d: i32) -> i32');
    expect(snippet.code).toContain('clamp(q_idx, 0i, 4i)');
    expect(snippet.bindings).toEqual([
      expect.objectContaining({
        group: 2,
        binding: 3,
        kind: 'storage',
        name: 'qkv_seg',
        elementType: 'i32',
      }),
    ]);
    expect(Array.from(snippet.bindings[0]!.data)).toEqual([0, 0, 1, 1, 1]);
  });

  it('compiles every random pattern to WGSL that computes the same mask', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATTERN_KINDS), fc.nat(1e6), (kind, seed) => {
        expectSameMask(randomPattern(kind, seed, { batch: 2, qLen: 23, kvLen: 19 }), 25);
      }),
      { numRuns: 40, seed: 5 },
    );
  });

  it('keeps Python floor division and remainder for negative operands', () => {
    const e = floorDiv(qIdx.sub(kvIdx), -3)
      .eq(mod(kvIdx.sub(4), -4))
      .or(mod(qIdx.sub(9), 4).eq(floorDiv(kvIdx.sub(7), 3)));
    expectSameMask(e, 14);
  });

  it('reads params from the uniform buffer', () => {
    const snippet = toWgsl(qIdx.sub(kvIdx).lt(param('window', 5)).and(qIdx.ge(kvIdx)));
    expect(snippet.code).toContain('struct qkv_Params {\n  window: i32,\n}');
    const uniform = snippet.bindings.find((x) => x.kind === 'uniform')!;
    expect(uniform.data.byteLength).toBe(16);
    expect(new Int32Array(uniform.data.buffer as ArrayBuffer)[0]).toBe(5);
    const wgsl = runWgslAsJs(snippet).mask!;
    const js = compileJs(slidingWindow(5));
    for (let q = 0; q < 12; q++)
      for (let k = 0; k < 12; k++) expect(wgsl(0, 0, q, k)).toBe(js(0, 0, q, k, 0) === 1);
  });

  it('compiles score modifiers, alone and with a mask, sharing bindings', () => {
    const rng = new Random(2);
    const table = Array.from({ length: 3 * 9 }, () => rng.nextNormal());
    const t5 = Array.from({ length: 32 * 3 }, () => rng.nextNormal());
    const mod = composeScoreMods(
      alibi(3),
      relativeBias(table, 4, { heads: 3 }),
      t5Bias(t5, { heads: 3 }),
      softCap(5),
      where(qIdx.eq(kvIdx), score.mul(f32(0.5)), score),
    );
    const snippet = toWgsl({ mask: causal(), scoreMod: mod });
    expect(snippet.code).toContain(
      'fn score_mod(score: f32, b: i32, h: i32, q_idx: i32, kv_idx: i32) -> f32',
    );
    expect(snippet.code).toContain('fn qkv_tanh(x: f32) -> f32');
    expect(snippet.bindings.map((x) => x.name)).toEqual([
      'qkv_alibi_slopes',
      'qkv_relative_bias',
      'qkv_t5_bias',
      'qkv_t5_buckets',
    ]);
    const fns = runWgslAsJs(snippet);
    const js = compileJs(mod);
    for (let hh = 0; hh < 3; hh++) {
      for (let q = 0; q < 20; q++) {
        for (let k = 0; k < 20; k += 3) {
          const s = rng.nextNormal() * 4;
          const expected = js(0, hh, q, k, s);
          // Tables hold f32 on both sides; the JS reference keeps float64 in between.
          expect(Math.abs(fns.score!(s, 0, hh, q, k) - expected)).toBeLessThan(1e-5);
        }
      }
    }
  });

  it('numbers tables that share a name', () => {
    const a = documentMask([0, 0, 1]);
    const c = documentMask([0, 1, 1]);
    const snippet = toWgsl(a.or(c));
    expect(snippet.bindings.map((x) => x.name)).toEqual(['qkv_q_segments', 'qkv_q_segments_2']);
    expectSameMask(a.or(c), 4);
  });

  it('formats literals as WGSL accepts them', () => {
    const snippet = toWgsl(score.mul(f32(-2.5)).add(f32(1e-7)).add(lit(-3)));
    expect(snippet.code).toContain('(-2.5f)');
    expect(snippet.code).toContain('1e-7f');
    expect(snippet.code).toContain('f32((-3i))');
  });

  it('rejects what it cannot compile', () => {
    expect(() => toWgsl(maskFromPredicate(() => true) as never)).toThrow(/no WGSL form/);
    expect(() => toWgsl({})).toThrow(/mask, a score modifier/);
    expect(() => toWgsl(qIdx.lt(param('w', 3)).and(kvIdx.lt(param('w', 4))))).toThrow(/two values/);
  });
});
