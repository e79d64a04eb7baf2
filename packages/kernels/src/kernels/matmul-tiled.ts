import type { MatmulAttrs, Tensor } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { COMMON_WGSL, declareBindings, loadFns } from '../wgsl/shader.js';
import { packFloat16 } from './map-kernel.js';
import { type MatmulPlan, planWgsl } from './matmul-plan.js';
import { operand } from './register.js';

// Register tiling: a 16 x 16 workgroup computes a 128 x 128 output tile, 8 x 8 outputs per
// invocation (rows ty + 16 i, columns tx + 16 j, so neighbours touch neighbouring addresses),
// staging BK-deep slices of both operands in workgroup memory, stored k-major.
const TILE = 128;
const BK = 8;
const THREADS = 256;
const PER_THREAD = 8;

/** How one operand's tile slice is staged: which binding, and how its elements are laid out. */
interface Operand {
  /** `A` (rows m) or `B` (columns n). */
  readonly side: 'A' | 'B';
  /** Its memory is contiguous along k (A as stored, or B transposed). */
  readonly alongK: boolean;
  /** Read four contiguous f32 at once (`array<vec4f>` binding). */
  readonly vec4: boolean;
}

/**
 * WGSL that stages this operand's BK x TILE slice into workgroup memory, with consecutive
 * invocations reading consecutive addresses of the operand's own layout, and zeros outside
 * the matrix. `mn` is the row (A) or column (B) inside the tile, `kk` the depth.
 */
function stageTile({ side, alongK, vec4 }: Operand): string {
  const [binding, offset, bound, base, tile] =
    side === 'A'
      ? ['x0', 'off0', 'M', 'rowBase', 'tileA']
      : ['x1', 'off1', 'N', 'colBase', 'tileB'];
  const address =
    side === 'A' ? `${offset} + g * aRow + gk * aInner` : `${offset} + gk * bInner + g * bCol`;
  if (!vec4) {
    const coords = alongK
      ? `let kk = e % ${BK}u; let mn = e / ${BK}u;`
      : `let mn = e % ${TILE}u; let kk = e / ${TILE}u;`;
    return `    for (var l = 0u; l < ${(TILE * BK) / THREADS}u; l++) {
      let e = lid + l * ${THREADS}u;
      ${coords}
      let g = ${base} + mn;
      let gk = k0 + kk;
      var v = 0.0;
      if (g < ${bound} && gk < K) { v = load_${binding}(${address}); }
      ${tile}[kk * ${TILE}u + mn] = v;
    }`;
  }
  // One vec4 per invocation (TILE * BK / 4 == THREADS). The contiguous extent is a multiple of
  // 4 (checked on the host), so a vec4 is wholly inside the matrix or wholly outside.
  const coords = alongK
    ? `let mn = lid / ${BK / 4}u; let kk = (lid % ${BK / 4}u) * 4u;`
    : `let kk = lid / ${TILE / 4}u; let mn = (lid % ${TILE / 4}u) * 4u;`;
  const scatter = alongK
    ? `for (var c = 0u; c < 4u; c++) { ${tile}[(kk + c) * ${TILE}u + mn] = v[c]; }`
    : `for (var c = 0u; c < 4u; c++) { ${tile}[kk * ${TILE}u + mn + c] = v[c]; }`;
  return `    {
      ${coords}
      let g = ${base} + mn;
      let gk = k0 + kk;
      var v = vec4f(0.0);
      if (g < ${bound} && gk < K) { v = ${binding}[(${address}) / 4u]; }
      ${scatter}
    }`;
}

function tiledSource(
  p: MatmulPlan,
  a: Tensor,
  b: Tensor,
  operands: readonly [Operand, Operand],
): string {
  const inputs = [
    { name: 'x0', dtype: a.dtype },
    { name: 'x1', dtype: b.dtype },
  ];
  // vec4 operands are declared as array<vec4f>; the others keep their dtype's loads.
  const bindings = declareBindings(inputs, [{ name: 'out', dtype: 'float32' }])
    .split('\n')
    .map((line, i) => (operands[i]?.vec4 ? line.replace(/array<f32>/, 'array<vec4f>') : line))
    .join('\n');
  const scalarLoads = loadFns(inputs.filter((_, i) => !operands[i]!.vec4));
  return `${bindings}
${COMMON_WGSL}
${scalarLoads}
var<workgroup> tileA: array<f32, ${TILE * BK}>;
var<workgroup> tileB: array<f32, ${TILE * BK}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${planWgsl(p.batchRank, 'wid.z')}
  let rowBase = wid.y * ${TILE}u;
  let colBase = wid.x * ${TILE}u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<array<f32, ${PER_THREAD}>, ${PER_THREAD}>;
  var ra: array<f32, ${PER_THREAD}>;
  var rb: array<f32, ${PER_THREAD}>;
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
${stageTile(operands[0])}
${stageTile(operands[1])}
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      for (var i = 0u; i < ${PER_THREAD}u; i++) { ra[i] = tileA[kk * ${TILE}u + ty + 16u * i]; }
      for (var j = 0u; j < ${PER_THREAD}u; j++) { rb[j] = tileB[kk * ${TILE}u + tx + 16u * j]; }
      for (var i = 0u; i < ${PER_THREAD}u; i++) {
        for (var j = 0u; j < ${PER_THREAD}u; j++) { acc[i][j] = fma(ra[i], rb[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  let outBase = wid.z * M * N;
  for (var i = 0u; i < ${PER_THREAD}u; i++) {
    let row = rowBase + ty + 16u * i;
    if (row >= M) { break; }
    for (var j = 0u; j < ${PER_THREAD}u; j++) {
      let col = colBase + tx + 16u * j;
      if (col < N) { out[outBase + row * N + col] = acc[i][j]; }
    }
  }
}`;
}

/** Whether the register-tiled kernel fits this device and is worth it for this shape. */
export function useTiled(device: WebGPUDevice, p: MatmulPlan): boolean {
  const limits = device.limits;
  return (
    p.m >= 32 &&
    p.n >= 32 &&
    limits.maxComputeInvocationsPerWorkgroup >= THREADS &&
    limits.maxComputeWorkgroupStorageSize >= 2 * TILE * BK * 4
  );
}

/**
 * How each operand is staged: float32 operands whose contiguous extent (and so every row
 * start and batch offset) is a multiple of 4 elements are read as vec4.
 */
function operandsFor(a: Tensor, b: Tensor, attrs: MatmulAttrs, p: MatmulPlan): [Operand, Operand] {
  const aAlongK = !attrs.transposeA;
  const bAlongK = attrs.transposeB;
  const aExtent = aAlongK ? p.k : p.m;
  const bExtent = bAlongK ? p.k : p.n;
  return [
    { side: 'A', alongK: aAlongK, vec4: a.dtype === 'float32' && aExtent % 4 === 0 },
    { side: 'B', alongK: bAlongK, vec4: b.dtype === 'float32' && bExtent % 4 === 0 },
  ];
}

export function tiledMatmul(
  device: WebGPUDevice,
  a: Tensor,
  b: Tensor,
  attrs: MatmulAttrs,
  p: MatmulPlan,
  outDType: Tensor['dtype'],
): GpuStorage {
  const size = p.batch * p.m * p.n;
  const out = device.allocate('float32', size, 'matmul');
  const operands = operandsFor(a, b, attrs, p);
  const layout = operands
    .map((o) => `${o.side}${o.alongK ? 'k' : 'mn'}${o.vec4 ? 'v4' : ''}`)
    .join(',');
  device.dispatch({
    key: `matmul-tiled:rank${p.batchRank}:${layout}:${a.dtype}`,
    source: () => tiledSource(p, a, b, operands),
    inputs: [operand(a).storage, operand(b).storage],
    outputs: [out],
    params: [size, ...p.params],
    workgroups: [Math.ceil(p.n / TILE), Math.ceil(p.m / TILE), p.batch],
  });
  return outDType === 'float16' ? packFloat16(device, out, size) : out;
}
