import { activeRecorder } from './autodiff/hook.js';
import type { Device } from './device.js';
import type { DataTypeMap, DType } from './dtype.js';
import { fail } from './errors.js';
import { tensorBrand, trackTensor, untrackTensor } from './lifetime.js';
import { formatShape, resolveReshape, type Shape, sizeOf } from './shape.js';

/** Device storage shared by a tensor and its reshaped views; released when the last goes. */
class StorageRef {
  refs = 1;
  constructor(
    readonly device: Device,
    readonly handle: unknown,
  ) {}

  release(): void {
    if (--this.refs === 0) this.device.release(this.handle);
  }
}

/**
 * An immutable n-dimensional array on a device: contiguous, row-major storage plus `shape`
 * and `dtype`. Ops return new tensors; `reshape` shares storage and costs nothing.
 * Memory is explicit: call `dispose()`, or create tensors inside `scope()`.
 */
export class Tensor<D extends DType = DType> {
  readonly [tensorBrand] = true as const;
  readonly shape: readonly number[];
  readonly dtype: D;
  readonly size: number;
  #storage: StorageRef | undefined;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) or ops instead. */
  constructor(shape: Shape, dtype: D, device: Device, handle: unknown);
  /** @internal */
  constructor(shape: Shape, dtype: D, storage: StorageRef);
  constructor(shape: Shape, dtype: D, deviceOrStorage: Device | StorageRef, handle?: unknown) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    if (deviceOrStorage instanceof StorageRef) {
      deviceOrStorage.refs++;
      this.#storage = deviceOrStorage;
    } else {
      this.#storage = new StorageRef(deviceOrStorage, handle);
    }
    trackTensor(this as Tensor);
  }

  get rank(): number {
    return this.shape.length;
  }

  get device(): Device {
    return this.#live('device').device;
  }

  get isDisposed(): boolean {
    return this.#storage === undefined;
  }

  /** The backend's storage handle, for kernels. */
  get storage(): unknown {
    return this.#live('storage').handle;
  }

  /** Read the elements back to the host (float16 widens to a Float32Array). */
  async data(): Promise<DataTypeMap[D]> {
    const ref = this.#live('data');
    return (await ref.device.read(ref.handle, this.dtype, this.size)) as DataTypeMap[D];
  }

  /** Synchronous read; only devices whose memory the host can see (the CPU) support it. */
  dataSync(): DataTypeMap[D] {
    const ref = this.#live('dataSync');
    if (!ref.device.readSync) {
      fail('dataSync', `device ${ref.device.name} reads asynchronously; use await t.data()`);
    }
    return ref.device.readSync(ref.handle, this.dtype, this.size) as DataTypeMap[D];
  }

  /** A view with another shape over the same storage (one dimension may be -1). */
  reshape(shape: Shape): Tensor<D> {
    const ref = this.#live('reshape');
    const view = new Tensor(resolveReshape('reshape', this.shape, shape), this.dtype, ref);
    activeRecorder()?.recordView(this as Tensor, view as Tensor);
    return view;
  }

  /** Release this tensor's hold on its storage. Disposing twice is harmless. */
  dispose(): void {
    if (!this.#storage) return;
    const ref = this.#storage;
    this.#storage = undefined;
    untrackTensor(this as Tensor);
    ref.release();
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype}${this.#storage ? `, ${this.#storage.device.name}` : ', disposed'})`;
  }

  #live(where: string): StorageRef {
    if (!this.#storage) fail(where, `tensor ${formatShape(this.shape)} ${this.dtype} was disposed`);
    return this.#storage;
  }
}
