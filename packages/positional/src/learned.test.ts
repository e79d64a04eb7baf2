import { loadSafetensors, QkvError, randn, saveSafetensors, tensor } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { LearnedPositionalEmbedding } from './learned.js';
import { expectNoLeaks } from './testing/leaks.js';

expectNoLeaks();

describe('LearnedPositionalEmbedding', () => {
  it('returns table rows for ranges, host ids and id tensors', () => {
    const weight = randn([10, 3], { seed: 8 });
    const w = weight.dataSync();
    const wpe = new LearnedPositionalEmbedding(weight);
    const range = wpe.forward({ length: 4, offset: 5 });
    expect(range.shape).toEqual([4, 3]);
    expect(Array.from(range.dataSync())).toEqual(Array.from(w.slice(15, 27)));
    const ids = tensor(Int32Array.from([9, 0, 2, 2]), [2, 2], { dtype: 'int32' });
    const picked = wpe.forward({ positions: ids });
    expect(picked.shape).toEqual([2, 2, 3]);
    expect(Array.from(picked.dataSync().slice(0, 3))).toEqual(Array.from(w.slice(27, 30)));
    const host = wpe.forward({ positions: [1] });
    expect(Array.from(host.dataSync())).toEqual(Array.from(w.slice(3, 6)));
    for (const t of [weight, range, ids, picked, host]) t.dispose();
  });

  it('loads GPT-2 wpe from a state dict under either name', () => {
    const weight = randn([16, 4], { seed: 2 });
    expect(LearnedPositionalEmbedding.fromStateDict({ 'wpe.weight': weight }).numPositions).toBe(
      16,
    );
    const nested = LearnedPositionalEmbedding.fromStateDict(
      new Map([['transformer.wpe.weight', weight]]),
      {
        numPositions: 16,
        dim: 4,
      },
    );
    expect([nested.numPositions, nested.dim]).toEqual([16, 4]);
    weight.dispose();
  });

  it('loads wpe from a safetensors file holding other tensors too (GPT-2 layout)', async () => {
    const wpe = randn([8, 4], { seed: 5 });
    const wte = randn([50, 4], { seed: 6 });
    const bytes = await saveSafetensors({ 'wpe.weight': wpe, 'wte.weight': wte });
    const file = loadSafetensors(bytes);
    const module = LearnedPositionalEmbedding.fromStateDict(file.tensors);
    const rows = module.forward({ length: 3, offset: 2 });
    expect(Array.from(rows.dataSync())).toEqual(Array.from(wpe.dataSync().slice(8, 20)));
    for (const t of [wpe, wte, rows, ...Object.values(file.tensors)]) t.dispose();
  });

  it('wrong names or shapes list what was expected', () => {
    const weight = randn([16, 4], { seed: 2 });
    expect(() => LearnedPositionalEmbedding.fromStateDict({ 'wte.weight': weight })).toThrow(
      QkvError,
    );
    expect(() => LearnedPositionalEmbedding.fromStateDict({ 'wte.weight': weight })).toThrow(
      /expected a tensor named 'wpe\.weight' or 'transformer\.wpe\.weight' with shape \[numPositions, dim\] .*the state dict has wte\.weight/,
    );
    expect(() =>
      LearnedPositionalEmbedding.fromStateDict({ 'wpe.weight': weight }, { dim: 8 }),
    ).toThrow(
      /'wpe\.weight' must have shape \[numPositions, 8\] \(numPositions × dim\), got \[16, 4\]/,
    );
    expect(() => LearnedPositionalEmbedding.fromStateDict({})).toThrow(
      /the state dict has no tensors/,
    );
    weight.dispose();
  });

  it('rejects positions past the table or negative', () => {
    const weight = randn([4, 2], { seed: 3 });
    const wpe = new LearnedPositionalEmbedding(weight);
    expect(() => wpe.forward({ length: 5 })).toThrow(
      /position 4 is 4, past the 4 positions of the table/,
    );
    expect(() => wpe.forward({ positions: [0, -1] })).toThrow(
      /position 1 is -1; positions must be non-negative/,
    );
    const ids = tensor(Int32Array.from([7]), [1], { dtype: 'int32' });
    expect(() => wpe.forward({ positions: ids })).toThrow(/past the 4 positions/);
    expect(() => wpe.forward()).toThrow(/give positions, or a non-negative integer length/);
    ids.dispose();
    weight.dispose();
  });
});
