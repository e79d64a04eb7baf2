import type { RopeAttrs } from '@qkv/tensor';
import { paramBlock } from '../wgsl/params.js';
import { runMap } from './map-kernel.js';
import { operand, registerGpuKernel } from './register.js';

/**
 * sin and cos of a float32 angle to about 1 ulp on any GPU. WGSL only bounds `sin` / `cos`
 * to 2^-11 absolute error on [-π, π] (software adapters sit near that bound), too coarse for
 * a rotation the CPU computes in float64. Cody-Waite reduction by π/2 in three parts (the
 * first with 8 significant bits, so k·P1 is exact for |k| < 2^16, angles up to ~10^5), then
 * the Cephes `sinf` / `cosf` minimax polynomials on [-π/4, π/4] and a quadrant swap.
 */
const SINCOS_WGSL = /* wgsl */ `
fn sincos(angle: f32) -> vec2f {
  let k = round(angle * 0.636619772367581343);
  let r = ((angle - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  let quadrant = u32(i32(k) & 3);
  let sc = array<vec2f, 4>(vec2f(s, c), vec2f(c, -s), vec2f(-s, -c), vec2f(-c, s));
  return sc[quadrant];
}`;

/**
 * One output element per invocation (see `RopeOp`): the element's pair partner, its
 * frequency index and its row's position give angle = f32(f32(p) · invFreq[i]) exactly as
 * the contract rounds it; `sincos` then evaluates it in f32.
 */
function ropeBody(attrs: RopeAttrs, perBatch: boolean): string {
  const half = attrs.rotaryDim / 2;
  const pair =
    attrs.style === 'half'
      ? `  let first = d < ${half}u;
  let f = select(d - ${half}u, d, first);
  let partner = select(i - ${half}u, i + ${half}u, first);`
      : `  let first = d % 2u == 0u;
  let f = d / 2u;
  let partner = select(i - 1u, i + 1u, first);`;
  const id = perBatch
    ? 'load_x1((row / params.rowsPerBatch) * seq + row % seq)'
    : 'load_x1(row % seq)';
  return `  let dim = params.dim;
  let seq = params.seq;
  let row = i / dim;
  let d = i % dim;
  if (d >= ${attrs.rotaryDim}u) { return load_x0(i); }
${pair}
  let angle = f32(${id}) * load_x2(f);
  let scaling = params.scaling;
  let sc = sincos(angle) * scaling;
  let s = sc.x;
  let c = sc.y;
  let x = load_x0(i);
  let y = load_x0(partner);
  // (a, b) -> (a·c - b·s, b·c + a·s): the first of the pair is a, the second b.
  return select(x * c + y * s, x * c - y * s, first);`;
}

export function registerRopeKernels(): void {
  registerGpuKernel<RopeAttrs>('rope', ({ inputs, attrs }, device) => {
    const [x, positions] = inputs;
    const dim = x!.shape[x!.rank - 1]!;
    const seq = x!.shape[x!.rank - 2]!;
    const perBatch = positions!.rank === 2;
    const rows = dim === 0 ? 0 : x!.size / dim;
    const rowsPerBatch = perBatch ? rows / positions!.shape[0]! : rows;
    const out = runMap(
      device,
      {
        kernel: 'rope',
        spec: {
          style: attrs.style,
          rotaryDim: attrs.rotaryDim,
          positions: perBatch ? 'batch' : 'shared',
        },
        inputs: inputs.map(operand),
        outDType: x!.dtype,
        params: paramBlock(
          { dim: 'u32', seq: 'u32', rowsPerBatch: 'u32', scaling: 'f32' },
          { dim, seq, rowsPerBatch, scaling: attrs.attentionScaling },
        ),
        helpers: SINCOS_WGSL,
        body: ropeBody(attrs, perBatch),
      },
      x!.size,
    );
    return [out];
  });
}
