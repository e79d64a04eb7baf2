import type { MatmulAttrs, Tensor } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { type Binding, COMMON_WGSL, declareBindings, loadFns } from '../wgsl/shader.js';
import { packFloat16 } from './map-kernel.js';
import { type MatmulPlan, planWgsl } from './matmul-plan.js';
import { operand } from './register.js';

// Register tiling: a 16 x 16 workgroup computes a square output tile, (tile / 16)²
// outputs per invocation (rows ty + 16 i, columns tx + 16 j, so neighbours touch
// neighbouring addresses), staging BK-deep slices of both operands in workgroup memory,
// stored k-major. Large products use 128 x 128 tiles (8 x 8 per invocation); medium ones
// 64 x 64 (4 x 4), which wastes less work on ragged edges and gives more workgroups.
const BK = 8;
const THREADS = 256;

interface TileConfig {
  readonly tile: number;
  readonly perThread: number;
}
const LARGE: TileConfig = { tile: 128, perThread: 8 };
const MEDIUM: TileConfig = { tile: 64, perThread: 4 };

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
 * WGSL that stages this operand's BK x tileSize slice into workgroup memory, with consecutive
 * invocations reading consecutive addresses of the operand's own layout, and zeros outside
 * the matrix. `mn` is the row (A) or column (B) inside the tile, `kk` the depth.
 */
function stageTile({ side, alongK, vec4 }: Operand, tileSize: number): string {
  const [binding, offset, bound, base, staged] =
    side === 'A'
      ? ['x0', 'off0', 'M', 'rowBase', 'tileA']
      : ['x1', 'off1', 'N', 'colBase', 'tileB'];
  const address =
    side === 'A' ? `${offset} + g * aRow + gk * aInner` : `${offset} + gk * bInner + g * bCol`;
  if (!vec4) {
    const coords = alongK
      ? `let kk = e % ${BK}u; let mn = e / ${BK}u;`
      : `let mn = e % ${tileSize}u; let kk = e / ${tileSize}u;`;
    return `    for (var l = 0u; l < ${(tileSize * BK) / THREADS}u; l++) {
      let e = lid + l * ${THREADS}u;
      ${coords}
      let g = ${base} + mn;
      let gk = k0 + kk;
      var v = 0.0;
      if (g < ${bound} && gk < K) { v = load_${binding}(${address}); }
      ${staged}[kk * ${tileSize}u + mn] = v;
    }`;
  }
  // At most one vec4 per invocation (tileSize * BK / 4 <= THREADS). The contiguous extent is a
  // multiple of 4 (checked on the host), so a vec4 is wholly inside the matrix or outside.
  const coords = alongK
    ? `let mn = lid / ${BK / 4}u; let kk = (lid % ${BK / 4}u) * 4u;`
    : `let kk = lid / ${tileSize / 4}u; let mn = (lid % ${tileSize / 4}u) * 4u;`;
  const scatter = alongK
    ? `for (var c = 0u; c < 4u; c++) { ${staged}[(kk + c) * ${tileSize}u + mn] = v[c]; }`
    : `for (var c = 0u; c < 4u; c++) { ${staged}[kk * ${tileSize}u + mn + c] = v[c]; }`;
  return `    if (lid < ${(tileSize * BK) / 4}u) {
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
  { tile: tileSize, perThread }: TileConfig,
): string {
  // vec4 operands are declared as array<vec4f>; the others keep their dtype's loads.
  const inputs: Binding[] = [
    { name: 'x0', dtype: a.dtype, vec4: operands[0].vec4 },
    { name: 'x1', dtype: b.dtype, vec4: operands[1].vec4 },
  ];
  const bindings = declareBindings(inputs, [{ name: 'out', dtype: 'float32' }], p.params.fields);
  const scalarLoads = loadFns(inputs.filter((b) => !b.vec4));
  return `${bindings}
${COMMON_WGSL}
${scalarLoads}
var<workgroup> tileA: array<f32, ${tileSize * BK}>;
var<workgroup> tileB: array<f32, ${tileSize * BK}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${planWgsl(p.batchRank, 'wid.z')}
  let rowBase = wid.y * ${tileSize}u;
  let colBase = wid.x * ${tileSize}u;
  let tx = lid % 16u;
  let ty = lid / 16u;
${unrolled(perThread, (i, j) => `  var acc${i}_${j} = 0.0;`)}
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
${stageTile(operands[0], tileSize)}
${stageTile(operands[1], tileSize)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      let aBase = kk * ${tileSize}u + ty;
      let bBase = kk * ${tileSize}u + tx;
${unrolled(perThread, (i, j) => (j === 0 ? `      let a${i} = tileA[aBase + ${16 * i}u];` : ''))}
${unrolled(perThread, (i, j) => (i === 0 ? `      let b${j} = tileB[bBase + ${16 * j}u];` : ''))}
${unrolled(perThread, (i, j) => `      acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});`)}
    }
    workgroupBarrier();
  }
  let outBase = wid.z * M * N;
${unrolled(perThread, (i, j) =>
  [
    j === 0 ? `  let row${i} = rowBase + ty + ${16 * i}u;` : '',
    `  if (row${i} < M && colBase + tx + ${16 * j}u < N) { out[outBase + row${i} * N + colBase + tx + ${16 * j}u] = acc${i}_${j}; }`,
  ]
    .filter(Boolean)
    .join('\n'),
)}
}`;
}

/**
 * Straight-line WGSL for every (i, j) of a perThread x perThread block: accumulators as named
 * scalars, so no compiler has to unroll loops to keep them in registers.
 */
function unrolled(perThread: number, line: (i: number, j: number) => string): string {
  const lines: string[] = [];
  for (let i = 0; i < perThread; i++) {
    for (let j = 0; j < perThread; j++) {
      const text = line(i, j);
      if (text) lines.push(text);
    }
  }
  return lines.join('\n');
}

/** Whether the register-tiled kernel fits this device and is worth it for this shape. */
export function useTiled(device: WebGPUDevice, p: MatmulPlan): boolean {
  const limits = device.limits;
  return (
    p.m >= 32 &&
    p.n >= 32 &&
    limits.maxComputeInvocationsPerWorkgroup >= THREADS &&
    limits.maxComputeWorkgroupStorageSize >= 2 * LARGE.tile * BK * 4
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
  const config = p.m >= 256 && p.n >= 256 ? LARGE : MEDIUM;
  const layout = operands
    .map((o) => `${o.side}${o.alongK ? 'k' : 'mn'}${o.vec4 ? 'v4' : ''}`)
    .join(',');
  device.dispatch({
    kernel: 'matmul-tiled',
    spec: { tile: config.tile, layout, dtype: a.dtype },
    source: () => tiledSource(p, a, b, operands, config),
    inputs: [operand(a).storage, operand(b).storage],
    outputs: [out],
    params: p.params,
    count: size,
    workgroups: [Math.ceil(p.n / config.tile), Math.ceil(p.m / config.tile), p.batch],
  });
  return outDType === 'float16' ? packFloat16(device, out, size) : out;
}
