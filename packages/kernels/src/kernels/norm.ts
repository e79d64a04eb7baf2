import { type NormAttrs, sizeOf } from '@qkv/tensor';
import { paramBlock } from '../wgsl/params.js';
import { COMBINE_WGSL, workgroupReduceFn } from '../wgsl/row-reduce.js';
import { operand, registerGpuKernel } from './register.js';
import { runRowKernel } from './row-kernel.js';

/**
 * layerNorm: `(x - mean) / sqrt(biased variance + eps) * weight + bias`; rmsNorm:
 * `x / sqrt(mean(x²) + eps) * weight`. One workgroup per row of `width` contiguous elements;
 * the variance is a second pass over the row (more accurate than E[x²] - E[x]²).
 */
function normBody(op: 'layerNorm' | 'rmsNorm', attrs: NormAttrs): string {
  const loop = (statement: string) =>
    `  for (var j = lid; j < width; j += ROW_STRIDE) { let v = load_x0(start + j); ${statement} }`;
  const weight = attrs.hasWeight ? ' * load_x1(j)' : '';
  const bias = attrs.hasBias ? ` + load_x${attrs.hasWeight ? 2 : 1}(j)` : '';
  const mean =
    op === 'layerNorm'
      ? `  var partial = 0.0;\n${loop('partial += v;')}\n  let mean = reduce_mean(partial, lid) / f32(width);`
      : '  let mean = 0.0;';
  return `  let width = params.width;
  let eps = params.eps;
  let start = row * width;
${mean}
  var squares = 0.0;
${loop('squares += (v - mean) * (v - mean);')}
  let inverse = 1.0 / sqrt(reduce_squares(squares, lid) / f32(width) + eps);
  if (!in_range) { return; }
${loop(`store_out(start + j, (v - mean) * inverse${weight}${bias});`)}`;
}

export function registerNormKernels(): void {
  for (const op of ['layerNorm', 'rmsNorm'] as const) {
    registerGpuKernel<NormAttrs>(op, ({ inputs, attrs }, device) => {
      const x = inputs[0]!;
      const width = sizeOf(x.shape.slice(x.rank - attrs.normalizedDims));
      const storage = runRowKernel(device, {
        kernel: op,
        spec: { weight: attrs.hasWeight, bias: attrs.hasBias },
        inputs: inputs.map(operand),
        outDType: x.dtype,
        outSize: x.size,
        rowLength: width,
        rows: width === 0 ? 0 : x.size / width,
        params: paramBlock({ width: 'u32', eps: 'f32' }, { width, eps: attrs.eps }),
        // Two reducers with their own workgroup memory: with one shared array, some compilers
        // (Mesa through OpenGL ES) let the second call's writes overtake the first's final read.
        helpers: (subgroups) =>
          [
            COMBINE_WGSL,
            workgroupReduceFn('reduce_mean', 'f32', 'add_f32', subgroups),
            workgroupReduceFn('reduce_squares', 'f32', 'add_f32', subgroups),
          ].join('\n'),
        body: normBody(op, attrs),
      });
      return [storage];
    });
  }
}
