import type { MatmulAttrs, Tensor } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { COMBINE_WGSL, workgroupReduceFn } from '../wgsl/row-reduce.js';
import { runMap } from './map-kernel.js';
import { type MatmulPlan, planMatmul, planWgsl } from './matmul-plan.js';
import { tiledMatmul, useTiled } from './matmul-tiled.js';
import { operand, registerGpuKernel } from './register.js';
import { runRowKernel } from './row-kernel.js';

/** K from which a skinny product splits each dot product across a workgroup. */
const DOT_ROW_MIN_K = 256;

/** One invocation per output element: small and skinny products (M = 1 decoding). */
function simpleMatmul(
  device: WebGPUDevice,
  a: Tensor,
  b: Tensor,
  p: MatmulPlan,
  outDType: Tensor['dtype'],
): GpuStorage {
  const body = `${planWgsl(p.batchRank, 'i / (M * N)')}
  let row = (i / N) % M;
  let col = i % N;
  let aStart = off0 + row * aRow;
  let bStart = off1 + col * bCol;
  var acc = 0.0;
  for (var q = 0u; q < K; q++) {
    acc += f32(load_x0(aStart + q * aInner)) * f32(load_x1(bStart + q * bInner));
  }
  return acc;`;
  return runMap(
    device,
    {
      kernel: 'matmul-simple',
      inputs: [operand(a), operand(b)],
      outDType,
      params: p.params,
      body,
    },
    p.batch * p.m * p.n,
  );
}

/**
 * A workgroup per output element, its invocations striding K and combining with
 * `reduce_add`: for skinny products whose operands are both contiguous along K (decoding
 * through `linear`, whose weight is read transposed), so neighbouring invocations read
 * neighbouring addresses and a long K is split 64 ways instead of walked by one invocation.
 */
function dotRowMatmul(
  device: WebGPUDevice,
  a: Tensor,
  b: Tensor,
  p: MatmulPlan,
  outDType: Tensor['dtype'],
): GpuStorage {
  const body = `${planWgsl(p.batchRank, 'row / (M * N)')}
  let aStart = off0 + ((row / N) % M) * aRow;
  let bStart = off1 + (row % N) * bCol;
  var acc = 0.0;
  for (var q = lid; q < K; q += ROW_STRIDE) {
    acc = fma(f32(load_x0(aStart + q * aInner)), f32(load_x1(bStart + q * bInner)), acc);
  }
  let total = reduce_add(acc, lid);
  if (in_range && lid == 0u) { store_out(row, total); }`;
  return runRowKernel(device, {
    kernel: 'matmul-dot',
    inputs: [operand(a), operand(b)],
    outDType,
    outSize: p.batch * p.m * p.n,
    rows: p.batch * p.m * p.n,
    rowLength: p.k,
    params: p.params,
    helpers: (subgroups) =>
      [COMBINE_WGSL, workgroupReduceFn('reduce_add', 'f32', 'add_f32', subgroups)].join('\n'),
    body,
  });
}

/** Both operands are contiguous along K (a row of op(a), a column of op(b)). */
function contiguousAlongK(p: MatmulPlan, attrs: MatmulAttrs): boolean {
  return (!attrs.transposeA || p.m === 1) && (attrs.transposeB || p.n === 1);
}

export function registerMatmulKernels(): void {
  registerGpuKernel<MatmulAttrs>('matmul', ({ inputs, attrs, outputs }, device) => {
    const [a, b] = inputs;
    const out = outputs[0]!;
    const p = planMatmul(a!, b!, attrs, out.shape);
    if (p.k === 0) {
      // An empty inner dimension sums nothing: zeros, as in PyTorch.
      return [
        runMap(
          device,
          { kernel: 'zeros', inputs: [], outDType: out.dtype, body: '  return 0.0;' },
          p.batch * p.m * p.n,
        ),
      ];
    }
    if (useTiled(device, p)) return [tiledMatmul(device, a!, b!, attrs, p, out.dtype)];
    if (p.k >= DOT_ROW_MIN_K && contiguousAlongK(p, attrs)) {
      return [dotRowMatmul(device, a!, b!, p, out.dtype)];
    }
    return [simpleMatmul(device, a!, b!, p, out.dtype)];
  });
}
