import type { RopeAttrs } from '../ops/rope.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';

/**
 * Rotary embedding over rows of D contiguous elements (see `RopeOp` for the contract). The
 * angle is rounded to float32 exactly as the op specifies; cos / sin and the rotation itself
 * run in float64 and the result is rounded once when stored.
 */
export function registerRopeKernels(): void {
  registerCpuKernel<RopeAttrs>('rope', ({ inputs, attrs }, [out]) => {
    const [x, positions, invFreq] = inputs;
    const data = cpuData(x!);
    const ids = cpuData(positions!);
    const freqs = cpuData(invFreq!);
    const dim = x!.shape[x!.rank - 1]!;
    const seq = x!.shape[x!.rank - 2]!;
    const rows = data.length / dim;
    const half = attrs.rotaryDim / 2;
    const scaling = attrs.attentionScaling;
    // With per-batch ids `[B, S]`, each batch entry spans rowsPerBatch rows of x.
    const perBatch = positions!.rank === 2;
    const rowsPerBatch = perBatch ? rows / positions!.shape[0]! : rows;
    // cos / sin per position id, shared by every row (head) that uses the id.
    const cos = new Float64Array(ids.length * half);
    const sin = new Float64Array(ids.length * half);
    for (let k = 0; k < ids.length; k++) {
      const position = Math.fround(ids[k]!);
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(position * freqs[i]!);
        cos[k * half + i] = Math.cos(angle) * scaling;
        sin[k * half + i] = Math.sin(angle) * scaling;
      }
    }
    // Pair (a, b) of frequency i sits at (i, i + half) or (2i, 2i + 1).
    const [aStep, bOffset] = attrs.style === 'half' ? [1, half] : [2, 1];
    for (let row = 0; row < rows; row++) {
      const s = row % seq;
      const table = (perBatch ? Math.floor(row / rowsPerBatch) * seq + s : s) * half;
      const base = row * dim;
      for (let i = 0; i < half; i++) {
        const c = cos[table + i]!;
        const sn = sin[table + i]!;
        const ia = base + i * aStep;
        const ib = ia + bOffset;
        const a = data[ia]!;
        const b = data[ib]!;
        out![ia] = a * c - b * sn;
        out![ib] = b * c + a * sn;
      }
      for (let j = attrs.rotaryDim; j < dim; j++) out![base + j] = data[base + j]!;
    }
  });
}
