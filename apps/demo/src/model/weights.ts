import { loadSafetensors, narrow, QkvError, randn, type Tensor } from '@qkv/tensor';

/** The query, key and value projections of one attention layer, each `[dModel, dModel]`. */
export interface Projections {
  dModel: number;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  /** Where the weights came from, shown on the page. */
  source: string;
}

/**
 * Seeded random projections, N(0, 1/dModel) so that X·Wᵀ keeps unit-scale features
 * (the variance-preserving choice of LeCun initialisation).
 */
export function randomProjections(dModel: number, seed: number): Projections {
  const weight = (offset: number) =>
    randn([dModel, dModel], { seed: seed * 7919 + offset, std: 1 / Math.sqrt(dModel) });
  return {
    dModel,
    wq: weight(1),
    wk: weight(2),
    wv: weight(3),
    source: `seeded random (seed ${seed})`,
  };
}

/**
 * Projections from a safetensors file: a `torch.nn.MultiheadAttention` state dict
 * (`in_proj_weight` `[3d, d]`, rows q, k, v) or separate `q_proj.weight`, `k_proj.weight`,
 * `v_proj.weight` (Hugging Face naming; the first layer whose names end so is used).
 */
export function projectionsFromSafetensors(bytes: Uint8Array, fileName: string): Projections {
  const { tensors } = loadSafetensors(bytes);
  const keep = new Set<Tensor>();
  try {
    const names = Object.keys(tensors);
    const packed = names.find((n) => n === 'in_proj_weight' || n.endsWith('.in_proj_weight'));
    let wq: Tensor;
    let wk: Tensor;
    let wv: Tensor;
    if (packed) {
      const w = tensors[packed]!;
      const [rows, cols] = w.shape as [number, number];
      if (w.rank !== 2 || rows !== 3 * cols) {
        throw new QkvError(`${fileName}: ${packed} must be [3d, d], got ${w.toString()}`);
      }
      [wq, wk, wv] = [0, 1, 2].map((i) => narrow(w, 0, i * cols, cols)) as [Tensor, Tensor, Tensor];
    } else {
      const find = (suffix: string) => {
        const name = names.find((n) => n === suffix || n.endsWith(`.${suffix}`));
        if (!name) {
          throw new QkvError(
            `${fileName}: found neither in_proj_weight nor ${suffix} among ${names.length} tensors (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`,
          );
        }
        return tensors[name]!;
      };
      [wq, wk, wv] = [find('q_proj.weight'), find('k_proj.weight'), find('v_proj.weight')];
    }
    for (const w of [wq, wk, wv]) keep.add(w);
    const dModel = wq.shape[1]!;
    for (const [name, w] of Object.entries({ q: wq, k: wk, v: wv })) {
      if (w.rank !== 2 || w.shape[0] !== dModel || w.shape[1] !== dModel || w.dtype === 'bool') {
        throw new QkvError(
          `${fileName}: the ${name} projection must be a float [${dModel}, ${dModel}] matrix, got ${w.toString()}`,
        );
      }
    }
    return { dModel, wq, wk, wv, source: `${fileName} (${packed ?? 'q/k/v_proj'})` };
  } catch (error) {
    for (const w of keep) w.dispose();
    throw error;
  } finally {
    for (const t of Object.values(tensors)) if (!keep.has(t)) t.dispose();
  }
}

export function disposeProjections(p: Projections): void {
  for (const w of [p.wq, p.wk, p.wv]) w.dispose();
}
