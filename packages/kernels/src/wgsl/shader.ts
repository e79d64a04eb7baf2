import type { DType } from '@qkv/tensor';
import { type ParamFields, paramStruct } from './params.js';

/**
 * Typed WGSL fragments shared by every kernel: bindings, loads and stores per dtype (so the
 * float16 packing is written once), index math and the entry point's workgroup id.
 */

/** The WGSL type a dtype's values are computed in: floats in f32, bool as 0u / 1u. */
export type ValueType = 'f32' | 'i32' | 'u32';

export function valueType(dtype: DType): ValueType {
  if (dtype === 'float32' || dtype === 'float16') return 'f32';
  return dtype === 'int32' ? 'i32' : 'u32';
}

/** Element type of the storage array: float16 packs two to a u32, bool takes a u32. */
function storageType(dtype: DType): ValueType {
  return dtype === 'float16' ? 'u32' : valueType(dtype);
}

export interface Binding {
  readonly name: string;
  readonly dtype: DType;
  /** Read float32 storage four at a time, as `array<vec4f>` (the caller writes the loads). */
  readonly vec4?: boolean;
}

function arrayType(b: Binding): string {
  return b.vec4 ? 'vec4f' : storageType(b.dtype);
}

/**
 * Storage declarations in the binding order `WebGPUDevice.dispatch` uses: inputs (read-only),
 * outputs (read-write), then the kernel's parameters as `params` (see `params.ts`).
 */
export function declareBindings(
  inputs: readonly Binding[],
  outputs: readonly Binding[],
  params: ParamFields,
): string {
  const lines = inputs.map(
    (b, i) => `@group(0) @binding(${i}) var<storage, read> ${b.name}: array<${arrayType(b)}>;`,
  );
  outputs.forEach((b, i) => {
    lines.push(
      `@group(0) @binding(${inputs.length + i}) var<storage, read_write> ${b.name}: array<${arrayType(b)}>;`,
    );
  });
  lines.push(
    paramStruct(params),
    `@group(0) @binding(${inputs.length + outputs.length}) var<storage, read> params: Params;`,
  );
  return lines.join('\n');
}

/** `fn load_<name>(i: u32) -> <value type>`: element i, unpacking float16. */
export function loadFn(b: Binding): string {
  const body =
    b.dtype === 'float16'
      ? `return unpack2x16float(${b.name}[i >> 1u])[i & 1u];`
      : `return ${b.name}[i];`;
  return `fn load_${b.name}(i: u32) -> ${valueType(b.dtype)} { ${body} }`;
}

/** Loads for every binding. */
export function loadFns(bindings: readonly Binding[]): string {
  return bindings.map(loadFn).join('\n');
}

/** Store for 32-bit outputs; float16 outputs are written a word at a time by `mapShader`. */
export function storeFn(b: Binding): string {
  if (b.dtype === 'float16') throw new Error(`storeFn: ${b.name} is float16; write whole words`);
  return `fn store_${b.name}(i: u32, v: ${valueType(b.dtype)}) { ${b.name}[i] = v; }`;
}

/** Entry point with a 1-D workgroup; `group` is the linear workgroup id (see `grid`). */
export function entryPoint(workgroupSize: number, body: string, extraParams = ''): string {
  return `@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32${extraParams ? `, ${extraParams}` : ''}) {
  let group = wid.x + wid.y * nwg.x;
${body}
}`;
}

/**
 * Helpers every shader may use. Infinities and NaN come from bit patterns mixed with a
 * runtime zero, because WGSL rejects non-finite constant expressions.
 */
export const COMMON_WGSL = /* wgsl */ `
fn runtime_zero() -> u32 { return params.count & 0u; }
fn pos_inf() -> f32 { return bitcast<f32>(0x7f800000u | runtime_zero()); }
fn neg_inf() -> f32 { return bitcast<f32>(0xff800000u | runtime_zero()); }
fn nan() -> f32 { return bitcast<f32>(0x7fc00000u | runtime_zero()); }
// Bit tests, so a compiler that assumes no NaN cannot fold them away.
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
`;

/**
 * WGSL that splits linear output index `index` over a `rank`-dimensional shape (the array
 * parameter `shape`) and accumulates, for each input, `base + Σ coord[d] * strides[d]` into
 * `off<j>` (`strides` and `base` name parameters). Broadcast (stride 0), permuted and stepped
 * strides are all this one formula.
 */
export function stridedOffsets(
  rank: number,
  index: string,
  shape: string,
  inputs: readonly { strides: string; base?: string }[],
): string {
  const lines = inputs.map(
    (s, j) => `  var off${j} = ${s.base === undefined ? '0u' : `params.${s.base}`};`,
  );
  if (rank > 0) lines.push(`  var rem = ${index};`);
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`  { let dim = params.${shape}[${d}]; let c = rem % dim; rem = rem / dim;`);
    inputs.forEach((s, j) => {
      lines.push(`    off${j} += c * params.${s.strides}[${d}];`);
    });
    lines.push('  }');
  }
  return lines.join('\n');
}

/** One WGSL literal of a value type. */
export function literal(type: ValueType, value: number): string {
  if (type === 'f32') return `f32(${Number.isInteger(value) ? `${value}.0` : value})`;
  return type === 'i32' ? `i32(${value})` : `${value}u`;
}
