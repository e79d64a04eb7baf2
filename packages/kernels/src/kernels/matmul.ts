import { broadcastStrides, type MatmulAttrs, sizeOf, type Tensor } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { COMMON_WGSL, declareBindings, loadFns, param, stridedOffsets } from '../wgsl/shader.js';
import { packFloat16, runMap } from './map-kernel.js';
import { operand, registerGpuKernel } from './register.js';

/**
 * Where element (i, p) of op(a) and (p, j) of op(b) live, and the batch walk. Parameter words:
 * M, N, K, a row / inner strides, b inner / column strides, then the output batch shape and
 * each operand's broadcast batch strides (in elements).
 */
interface MatmulPlan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batch: number;
  readonly batchRank: number;
  readonly params: number[];
}

function plan(a: Tensor, b: Tensor, attrs: MatmulAttrs, outShape: readonly number[]): MatmulPlan {
  const rank = outShape.length;
  const m = outShape[rank - 2]!;
  const n = outShape[rank - 1]!;
  const aCols = a.shape[a.rank - 1]!;
  const bCols = b.shape[b.rank - 1]!;
  const k = attrs.transposeA ? a.shape[a.rank - 2]! : aCols;
  const [aRow, aInner] = attrs.transposeA ? [1, aCols] : [aCols, 1];
  const [bInner, bCol] = attrs.transposeB ? [1, k] : [bCols, 1];
  const batchShape = outShape.slice(0, -2);
  const aMatrix = a.shape[a.rank - 2]! * aCols;
  const bMatrix = b.shape[b.rank - 2]! * bCols;
  const aBatch = broadcastStrides(a.shape.slice(0, -2), batchShape).map((s) => s * aMatrix);
  const bBatch = broadcastStrides(b.shape.slice(0, -2), batchShape).map((s) => s * bMatrix);
  return {
    m,
    n,
    k,
    batch: sizeOf(batchShape),
    batchRank: batchShape.length,
    params: [m, n, k, aRow, aInner, bInner, bCol, ...batchShape, ...aBatch, ...bBatch],
  };
}

/** WGSL naming the plan's words (after the map kernel's size word) and the batch offsets. */
function planWgsl(batchRank: number, batchIndex: string): string {
  const names = ['M', 'N', 'K', 'aRow', 'aInner', 'bInner', 'bCol'];
  return [
    ...names.map((name, w) => `  let ${name} = ${param(w)};`),
    stridedOffsets(batchRank, batchIndex, 7, [
      { stridesAt: 7 + batchRank },
      { stridesAt: 7 + 2 * batchRank },
    ]),
  ].join('\n');
}

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

// Register tiling: a 16 x 16 workgroup computes a 128 x 128 output tile, 8 x 8 outputs per
// invocation (rows ty + 16 i, columns tx + 16 j, so neighbours touch neighbouring addresses),
// staging BK-deep slices of both operands in workgroup memory.
const TILE = 128;
const BK = 8;
const THREADS = 256;
const PER_THREAD = 8;

function tiledSource(p: MatmulPlan, a: Tensor, b: Tensor, attrs: MatmulAttrs): string {
  const inputs = [
    { name: 'x0', dtype: a.dtype },
    { name: 'x1', dtype: b.dtype },
  ];
  const perLoad = (TILE * BK) / THREADS;
  // Consecutive invocations read consecutive addresses of each operand's own layout.
  const aCoords = attrs.transposeA
    ? `let mm = e % ${TILE}u; let kk = e / ${TILE}u;`
    : `let kk = e % ${BK}u; let mm = e / ${BK}u;`;
  const bCoords = attrs.transposeB
    ? `let kk = e % ${BK}u; let nn = e / ${BK}u;`
    : `let nn = e % ${TILE}u; let kk = e / ${TILE}u;`;
  return `${declareBindings(inputs, [{ name: 'out', dtype: 'float32' }])}
${COMMON_WGSL}
${loadFns(inputs)}
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
    for (var l = 0u; l < ${perLoad}u; l++) {
      let e = lid + l * ${THREADS}u;
      {
        ${aCoords}
        let gm = rowBase + mm;
        let gk = k0 + kk;
        var v = 0.0;
        if (gm < M && gk < K) { v = load_x0(off0 + gm * aRow + gk * aInner); }
        tileA[kk * ${TILE}u + mm] = v;
      }
      {
        ${bCoords}
        let gn = colBase + nn;
        let gk = k0 + kk;
        var v = 0.0;
        if (gn < N && gk < K) { v = load_x1(off1 + gk * bInner + gn * bCol); }
        tileB[kk * ${TILE}u + nn] = v;
      }
    }
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
function useTiled(device: WebGPUDevice, p: MatmulPlan): boolean {
  const limits = device.limits;
  return (
    p.m >= 32 &&
    p.n >= 32 &&
    limits.maxComputeInvocationsPerWorkgroup >= THREADS &&
    limits.maxComputeWorkgroupStorageSize >= 2 * TILE * BK * 4
  );
}

function tiledMatmul(
  device: WebGPUDevice,
  a: Tensor,
  b: Tensor,
  attrs: MatmulAttrs,
  p: MatmulPlan,
  outDType: Tensor['dtype'],
): GpuStorage {
  const size = p.batch * p.m * p.n;
  const out = device.allocate('float32', size, 'matmul');
  device.dispatch({
    key: `matmul-tiled:rank${p.batchRank}:tA${Number(attrs.transposeA)}tB${Number(attrs.transposeB)}:${a.dtype}`,
    source: () => tiledSource(p, a, b, attrs),
    inputs: [operand(a).storage, operand(b).storage],
    outputs: [out],
    params: [size, ...p.params],
    workgroups: [Math.ceil(p.n / TILE), Math.ceil(p.m / TILE), p.batch],
  });
  return outDType === 'float16' ? packFloat16(device, out, size) : out;
}

export function registerMatmulKernels(): void {
  registerGpuKernel<MatmulAttrs>('matmul', ({ inputs, attrs, outputs }, device) => {
    const [a, b] = inputs;
    const out = outputs[0]!;
    const p = plan(a!, b!, attrs, out.shape);
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
