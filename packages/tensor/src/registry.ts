import { activeRecorder } from './autodiff/hook.js';
import { assertTensor } from './check-args.js';
import type { Device } from './device.js';
import { allocateTypedArray, type DType } from './dtype.js';
import { fail } from './errors.js';
import { formatShape, type Shape, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

/** Shape and dtype of an op's output, decided before any backend runs. */
export interface TensorSpec {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** What `infer` may return besides the output specs: a plan the kernel receives as-is. */
export interface Inferred<P> {
  readonly outputs: TensorSpec[];
  /** Sizes and other values derived while validating (e.g. `AttentionDims`). */
  readonly plan: P;
}

/**
 * An op, declared once for every backend: its name, its inputs, and `infer`, which validates
 * inputs and (already normalised) attributes with errors that name the offending shapes and
 * values, and returns the output specs, or the specs and a plan of what it derived on the way
 * (`P`), which the kernel receives as `ctx.plan` so no backend derives or validates it again.
 */
export interface OpDef<A, P = undefined> {
  readonly name: string;
  /** Input names used in error messages; a variadic op names one entry, e.g. `tensors`. */
  readonly inputNames: readonly string[];
  infer(inputs: readonly Tensor[], attrs: A): TensorSpec[] | Inferred<P>;
}

/** What a backend's kernel receives. It returns one storage handle per output. */
export interface KernelContext<A, P = undefined> {
  readonly inputs: readonly Tensor[];
  readonly attrs: A;
  readonly outputs: readonly TensorSpec[];
  readonly device: Device;
  /** What the op's `infer` derived (`undefined` for ops whose `infer` returns specs only). */
  readonly plan: P;
}

export type KernelFunc<A, P = undefined> = (ctx: KernelContext<A, P>) => unknown[];

export interface KernelConfig<A, P = undefined> {
  readonly op: string;
  readonly backend: string;
  readonly run: KernelFunc<A, P>;
}

const ops = new Map<string, OpDef<never, unknown>>();
const kernels = new Map<string, KernelConfig<never, never>>();

const kernelKey = (backend: string, op: string) => `${backend}_${op}`;

/** backend -> the backend whose kernels run for the ops it has none of. */
const fallbacks = new Map<string, string>();

/**
 * Run `fallback`'s kernel for every op `backend` has no kernel of its own for, including ops
 * declared later. Only for a backend whose storage is the fallback's (e.g. a fast CPU device
 * over the CPU backend's typed arrays): the kernel gets this backend's tensors as they are.
 */
export function setKernelFallback(backend: string, fallback: string): void {
  if (backend === fallback)
    fail('setKernelFallback', `backend "${backend}" cannot fall back on itself`);
  fallbacks.set(backend, fallback);
}

/** The kernel `runOp` uses for `op` on `backend`: its own, else its fallback's. */
function findKernel(op: string, backend: string): KernelConfig<never, never> | undefined {
  const own = kernels.get(kernelKey(backend, op));
  if (own) return own;
  const fallback = fallbacks.get(backend);
  return fallback === undefined ? undefined : kernels.get(kernelKey(fallback, op));
}

export function defineOp<A, P = undefined>(def: OpDef<A, P>): OpDef<A, P> {
  if (ops.has(def.name)) fail('defineOp', `op "${def.name}" is already defined`);
  ops.set(def.name, def as OpDef<never, unknown>);
  return def;
}

/** The input names `op` declares, if it is a declared op (for messages). */
export function opInputNames(op: string): readonly string[] | undefined {
  return ops.get(op)?.inputNames;
}

/** Names of every declared op; a backend is complete when it has a kernel for each. */
export function listOps(): string[] {
  return [...ops.keys()];
}

export function registerKernel<A, P = undefined>(config: KernelConfig<A, P>): void {
  const key = kernelKey(config.backend, config.op);
  if (kernels.has(key)) {
    fail(
      'registerKernel',
      `a kernel for op "${config.op}" on backend "${config.backend}" is already registered`,
    );
  }
  kernels.set(key, config as KernelConfig<never, never>);
}

export function unregisterKernel(op: string, backend: string): void {
  kernels.delete(kernelKey(backend, op));
}

/** The kernel registered for `op` on `backend`, if any (a backend may run another's kernel). */
export function getKernel(op: string, backend: string): KernelConfig<never, never> | undefined {
  return kernels.get(kernelKey(backend, op));
}

export function hasKernel(op: string, backend: string): boolean {
  return kernels.has(kernelKey(backend, op));
}

/** Ops declared but without a kernel on `backend` (its own or its fallback's). */
export function missingKernels(backend: string): string[] {
  return listOps().filter((op) => !findKernel(op, backend));
}

/** The device every input lives on; throws naming both devices when they differ. */
export function commonDevice(
  where: string,
  names: readonly string[],
  inputs: readonly Tensor[],
): Device {
  let first: { device: Device; name: string } | undefined;
  inputs.forEach((t, i) => {
    assertTensor(where, inputName(names, i), t);
    if (t.isDisposed)
      fail(where, `input ${inputName(names, i)} ${formatShape(t.shape)} was disposed`);
    const name = inputName(names, i);
    if (!first) first = { device: t.device, name };
    else if (t.device !== first.device) {
      fail(
        where,
        `inputs are on different devices: ${first.name} on ${first.device.name}, ${name} on ${t.device.name}; move one with toDevice()`,
      );
    }
  });
  if (!first) fail(where, 'no inputs');
  return first.device;
}

function inputName(names: readonly string[], i: number): string {
  return names.length === 1 && names[0]!.endsWith('s')
    ? `${names[0]}[${i}]`
    : (names[i] ?? `input ${i}`);
}

/** Validate, infer output specs, and run the op's kernel on the inputs' device. */
export function runOp<A, P>(def: OpDef<A, P>, inputs: readonly Tensor[], attrs: A): Tensor[] {
  const device = commonDevice(def.name, def.inputNames, inputs);
  const inferred = def.infer(inputs, attrs);
  const { outputs, plan } = Array.isArray(inferred)
    ? { outputs: inferred, plan: undefined as P }
    : inferred;
  const kernel = findKernel(def.name, device.backend) as KernelConfig<A, P> | undefined;
  if (!kernel) fail(def.name, `no kernel is registered for backend "${device.backend}"`);
  let result: Tensor[];
  if (outputs.every((o) => sizeOf(o.shape) === 0)) {
    // Empty results need no kernel; backends never see zero-sized outputs alone.
    result = outputs.map((o) => emptyTensor(o, device));
  } else {
    const handles = kernel.run({ inputs, attrs, outputs, device, plan });
    result = outputs.map((o, i) => new Tensor(o.shape, o.dtype, device, handles[i]));
  }
  activeRecorder()?.recordOp(def.name, inputs, attrs, result);
  return result;
}

function emptyTensor(spec: TensorSpec, device: Device): Tensor {
  const handle = device.upload(allocateTypedArray(spec.dtype, 0), spec.dtype);
  return new Tensor(spec.shape, spec.dtype, device, handle);
}
