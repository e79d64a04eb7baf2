import { randn, type Tensor, tensor } from '@qkv/tensor';

/**
 * Seeded random embeddings standing in for a trained embedding table: token id `t` always
 * maps to the same `dModel`-vector for a given seed (N(0, 1) entries), so a repeated word
 * gets a repeated vector, as it would with a real lookup table.
 */
export function embedTokens(ids: readonly number[], dModel: number, seed: number): Tensor {
  const values = new Float32Array(ids.length * dModel);
  ids.forEach((id, row) => {
    const vector = randn([dModel], { seed: mixSeed(seed, id) });
    values.set(vector.dataSync() as Float32Array, row * dModel);
    vector.dispose();
  });
  return tensor(values, [ids.length, dModel]);
}

/** Combine a seed and a token id into one 32-bit seed (a multiplicative hash, Knuth 6.4). */
export function mixSeed(seed: number, id: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(id + 1, 0x85ebca6b)) >>> 0;
}
