import type { MatmulAttrs, Tensor } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { runMap } from './map-kernel.js';
import { type MatmulPlan, planMatmul, planWgsl } from './matmul-plan.js';
import { tiledMatmul, useTiled } from './matmul-tiled.js';
import { operand, registerGpuKernel } from './register.js';

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
      key: `matmul-simple:rank${p.batchRank}`,
      inputs: [operand(a), operand(b)],
      outDType,
      params: p.params,
      body,
    },
    p.batch * p.m * p.n,
  );
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
          { key: 'zeros', inputs: [], outDType: out.dtype, body: '  return 0.0;' },
          p.batch * p.m * p.n,
        ),
      ];
    }
    return [
      useTiled(device, p)
        ? tiledMatmul(device, a!, b!, attrs, p, out.dtype)
        : simpleMatmul(device, a!, b!, p, out.dtype),
    ];
  });
}
