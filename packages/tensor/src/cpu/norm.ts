import type { NormAttrs } from '../ops/norm.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';

/**
 * Normalise rows of `width` contiguous elements: layerNorm subtracts the mean and divides by
 * sqrt(biased variance + eps); rmsNorm divides by sqrt(mean(x²) + eps). Then scale and shift.
 */
function registerNorm(op: 'layerNorm' | 'rmsNorm'): void {
  registerCpuKernel<NormAttrs>(op, ({ inputs, attrs }, [out]) => {
    const [x, ...params] = inputs;
    const data = cpuData(x!);
    const weight = attrs.hasWeight ? cpuData(params[0]!) : undefined;
    const bias = attrs.hasBias ? cpuData(params[attrs.hasWeight ? 1 : 0]!) : undefined;
    const width = x!.shape.slice(x!.rank - attrs.normalizedDims).reduce((p, d) => p * d, 1);
    for (let start = 0; start < data.length; start += width) {
      let mean = 0;
      if (op === 'layerNorm') {
        for (let j = 0; j < width; j++) mean += data[start + j]!;
        mean /= width;
      }
      let squares = 0;
      for (let j = 0; j < width; j++) squares += (data[start + j]! - mean) ** 2;
      const inverse = 1 / Math.sqrt(squares / width + attrs.eps);
      for (let j = 0; j < width; j++) {
        const normalized = (data[start + j]! - mean) * inverse;
        out![start + j] = normalized * (weight ? weight[j]! : 1) + (bias ? bias[j]! : 0);
      }
    }
  });
}

export function registerNormKernels(): void {
  registerNorm('layerNorm');
  registerNorm('rmsNorm');
}
