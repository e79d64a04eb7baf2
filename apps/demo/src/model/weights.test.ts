import { concat, liveTensors, randn, saveSafetensors } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { disposeProjections, projectionsFromSafetensors } from './weights.js';

describe('projections from safetensors', () => {
  it('splits a PyTorch MultiheadAttention in_proj_weight into q, k, v rows', async () => {
    const before = liveTensors();
    const [wq, wk, wv] = [1, 2, 3].map((seed) => randn([6, 6], { seed }));
    const packed = concat([wq!, wk!, wv!], 0);
    const extra = randn([6], { seed: 4 });
    const bytes = await saveSafetensors({
      'attn.in_proj_weight': packed,
      'attn.in_proj_bias': extra,
    });
    const p = projectionsFromSafetensors(bytes, 'mha.safetensors');
    expect(p.dModel).toBe(6);
    expect(p.source).toMatch(/mha\.safetensors/);
    expect([...p.wq.dataSync()]).toEqual([...wq!.dataSync()]);
    expect([...p.wk.dataSync()]).toEqual([...wk!.dataSync()]);
    expect([...p.wv.dataSync()]).toEqual([...wv!.dataSync()]);
    disposeProjections(p);
    for (const t of [wq, wk, wv, packed, extra]) t!.dispose();
    expect(liveTensors()).toBe(before);
  });

  it('reads separate q_proj / k_proj / v_proj weights', async () => {
    const before = liveTensors();
    const w = [1, 2, 3].map((seed) => randn([4, 4], { seed }));
    const bytes = await saveSafetensors({
      'layers.0.self_attn.q_proj.weight': w[0]!,
      'layers.0.self_attn.k_proj.weight': w[1]!,
      'layers.0.self_attn.v_proj.weight': w[2]!,
    });
    const p = projectionsFromSafetensors(bytes, 'hf.safetensors');
    expect([...p.wv.dataSync()]).toEqual([...w[2]!.dataSync()]);
    disposeProjections(p);
    for (const t of w) t.dispose();
    expect(liveTensors()).toBe(before);
  });

  it('says what it looked for when the names are missing, and leaks nothing', async () => {
    const before = liveTensors();
    const t = randn([3, 3], { seed: 1 });
    const bytes = await saveSafetensors({ 'mlp.weight': t });
    expect(() => projectionsFromSafetensors(bytes, 'mlp.safetensors')).toThrow(
      /mlp\.safetensors: found neither in_proj_weight nor q_proj\.weight among 1 tensors \(mlp\.weight\)/,
    );
    const bad = await saveSafetensors({ in_proj_weight: t });
    expect(() => projectionsFromSafetensors(bad, 'bad.safetensors')).toThrow(/must be \[3d, d\]/);
    t.dispose();
    expect(liveTensors()).toBe(before);
  });
});
