import { type Device, type DType, debugFlags, type TypedArray } from '@qkv/tensor';
import {
  type ParamBlock,
  packParams,
  paramSignature,
  type SpecValue,
  shaderKey,
} from '../wgsl/params.js';
import { BufferPool } from './buffer-pool.js';
import { fail } from './fail.js';
import { BufferUsage, MapMode } from './gpu-constants.js';
import { fromStorageWords, storageBytes, toStorageWords } from './host-data.js';
import { getPipeline } from './pipeline-cache.js';

/** A tensor's storage on WebGPU: a pooled buffer, possibly larger than the tensor needs. */
export class GpuStorage {
  released = false;
  constructor(
    readonly buffer: GPUBuffer,
    /** Bytes the tensor uses, a multiple of 4. */
    readonly bytes: number,
  ) {}
}

/** What a kernel hands to `dispatch`: a compiled-once program and how to run it. */
export interface Dispatch {
  /** The kernel's name: the start of its pipeline key and the `where` of its errors. */
  readonly kernel: string;
  /**
   * Every value `source` depends on (dtypes, ranks, tile sizes, flags); with the parameter
   * layout it makes the pipeline key (`shaderKey`), so it must name every specialisation.
   */
  readonly spec: Readonly<Record<string, SpecValue>>;
  readonly source: () => string;
  readonly inputs: readonly GpuStorage[];
  readonly outputs: readonly GpuStorage[];
  /** The kernel's parameters, bound last as the struct `params` (see `wgsl/params.ts`). */
  readonly params: ParamBlock;
  /** The parameters' first field, `count`: the work items the launch covers. */
  readonly count: number;
  /** Workgroups to launch: a count (folded into x and y) or an explicit grid. */
  readonly workgroups: number | readonly [number, number, number];
}

export interface WebGPUDeviceSettings {
  /** Dispatches encoded before the pending commands are submitted without being asked. */
  readonly batchSize?: number;
  readonly name?: string;
  /**
   * Reduce rows with subgroup operations (needs `subgroups` enabled and WGSL's `subgroup_id`
   * builtin); otherwise a workgroup-memory tree.
   */
  readonly subgroupReductions?: boolean;
  /**
   * Fill every kernel output with a NaN pattern before the kernel runs, and reject bool
   * words that are neither 0 nor 1 on read, so an element a kernel forgets to write fails a
   * test instead of passing by luck. For tests; it costs a queue write per output.
   */
  readonly poison?: boolean;
}

/** float32 NaN, and float16 NaN in both halves. */
const POISON_WORD = 0x7fc07fc0;

const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
const PARAM_ARENA_BYTES = 64 * 1024;

/**
 * The qkv `Device` for a GPUDevice. Kernels encode into one pending command encoder (one open
 * compute pass), which is submitted when data is read, on `flush()`, or once `batchSize`
 * dispatches are waiting. Parameter words of a whole batch live in one arena buffer, written
 * just before the submit (queue writes are ordered before the commands submitted after them).
 * Buffers released while commands that may use them are pending return to the pool only
 * after the submit, so a reused buffer is never overwritten under a pending reader.
 */
export class WebGPUDevice implements Device {
  readonly backend = 'webgpu';
  readonly name: string;
  readonly gpu: GPUDevice;
  /** `shader-f16` is enabled on this device. */
  readonly hasF16: boolean;
  /** `subgroups` is enabled on this device. */
  readonly hasSubgroups: boolean;
  /** Row reductions use subgroup operations. */
  readonly subgroupReductions: boolean;
  readonly batchSize: number;
  readonly poison: boolean;
  readonly #pool: BufferPool;
  readonly #deferred: GPUBuffer[] = [];
  readonly #arena: GPUBuffer;
  readonly #arenaWords = new Uint32Array(PARAM_ARENA_BYTES / 4);
  readonly #alignment: number;
  #arenaUsed = 0;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  #pendingDispatches = 0;
  #submits = 0;
  #dispatches = 0;
  #live = 0;
  #error: Error | undefined;
  #lost: Error | undefined;

  constructor(gpu: GPUDevice, settings: WebGPUDeviceSettings = {}) {
    this.gpu = gpu;
    this.name = settings.name ?? 'webgpu';
    this.batchSize = settings.batchSize ?? 64;
    this.poison = settings.poison ?? false;
    this.hasF16 = gpu.features.has('shader-f16');
    this.hasSubgroups = gpu.features.has('subgroups');
    this.subgroupReductions = this.hasSubgroups && (settings.subgroupReductions ?? false);
    this.#alignment = gpu.limits.minStorageBufferOffsetAlignment;
    this.#pool = new BufferPool(gpu, STORAGE_USAGE, gpu.limits.maxStorageBufferBindingSize);
    this.#arena = gpu.createBuffer({
      label: 'qkv params',
      size: PARAM_ARENA_BYTES,
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST,
    });
    gpu.onuncapturederror = (event) => {
      // Objects made from an invalid one report again ("invalid due to a previous error");
      // the first error names the cause, the echoes would only fail later, unrelated ops.
      if (/due to a previous error/.test(event.error.message)) return;
      this.#error ??= new Error(event.error.message);
    };
    void gpu.lost.then((info) => {
      this.#lost = new Error(`the GPU device was lost (${info.reason}): ${info.message}`);
    });
  }

  get limits(): GPUSupportedLimits {
    return this.gpu.limits;
  }

  /** Command buffers submitted so far (batching keeps this well below the op count). */
  get submitCount(): number {
    return this.#submits;
  }

  /** Kernel dispatches encoded so far. */
  get dispatchCount(): number {
    return this.#dispatches;
  }

  /** Storage GPUBuffers created so far; the pool keeps it flat across repeated work. */
  get buffersCreated(): number {
    return this.#pool.created;
  }

  /**
   * Bytes of storage buffers held by live tensors (and by released ones still referenced by
   * unsubmitted commands), in whole pool buckets; as PyTorch's `torch.cuda.memory_allocated`.
   * Free buffers kept by the pool for reuse are not counted.
   */
  get bytesInUse(): number {
    return this.#pool.inUseBytes;
  }

  /**
   * The highest `bytesInUse` since the device was made or `resetPeakBytes()` was last called
   * (as `torch.cuda.max_memory_allocated`): a benchmark resets it, runs an op and reads the
   * op's peak GPU memory, inputs included.
   */
  get peakBytes(): number {
    return this.#pool.peakBytes;
  }

  /** Restart `peakBytes` from the bytes in use now. */
  resetPeakBytes(): void {
    this.#pool.resetPeak();
  }

  liveBuffers(): number {
    return this.#live;
  }

  /** Throw, once, the WebGPU error reported since the last check; device loss every time. */
  check(where: string): void {
    if (this.#lost) fail(where, this.#lost.message);
    const error = this.#error;
    if (error) {
      this.#error = undefined;
      fail(where, `WebGPU reported an error: ${error.message}`);
    }
  }

  /** Fresh storage for `size` elements of `dtype`; its contents are undefined. */
  allocate(
    dtype: DType,
    size: number,
    where = 'allocate',
    poison = this.poison || debugFlags.poisonOutputs,
  ): GpuStorage {
    const bytes = storageBytes(dtype, size);
    const limit = this.gpu.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      fail(
        where,
        `a ${dtype} tensor of ${size} elements needs ${bytes} bytes, over this device's maxStorageBufferBindingSize of ${limit}`,
      );
    }
    this.#live++;
    const storage = new GpuStorage(this.#pool.acquire(Math.max(bytes, 4)), bytes);
    // Pooled buffers are never referenced by pending commands, so this write cannot race.
    if (poison && bytes > 0) {
      this.gpu.queue.writeBuffer(storage.buffer, 0, new Uint32Array(bytes / 4).fill(POISON_WORD));
    }
    return storage;
  }

  upload(data: TypedArray, dtype: DType): GpuStorage {
    this.check('upload');
    const storage = this.allocate(dtype, data.length, 'upload', false);
    const words = toStorageWords(data, dtype);
    if (words.byteLength > 0) {
      this.gpu.queue.writeBuffer(storage.buffer, 0, words.buffer, words.byteOffset, storage.bytes);
    }
    return storage;
  }

  async read(storage: unknown, dtype: DType, size: number): Promise<TypedArray> {
    this.check('data');
    const source = storage as GpuStorage;
    const bytes = storageBytes(dtype, size);
    if (bytes === 0) return fromStorageWords(new ArrayBuffer(0), dtype, 0);
    const staging = this.gpu.createBuffer({
      size: bytes,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
    try {
      this.#endPass();
      this.#commandEncoder().copyBufferToBuffer(source.buffer, 0, staging, 0, bytes);
      this.flush();
      await staging.mapAsync(MapMode.READ);
      this.check('data');
      const words = staging.getMappedRange().slice(0);
      if ((this.poison || debugFlags.poisonOutputs) && dtype === 'bool') {
        const bad = new Uint32Array(words).findIndex((w) => w > 1);
        if (bad >= 0) fail('data', `bool element ${bad} was never written (poison pattern found)`);
      }
      return fromStorageWords(words, dtype, size);
    } catch (error) {
      this.check('data');
      throw error;
    } finally {
      staging.destroy();
    }
  }

  release(storage: unknown): void {
    const s = storage as GpuStorage;
    if (s.released) return;
    s.released = true;
    this.#live--;
    if (this.#encoder) this.#deferred.push(s.buffer);
    else this.#pool.give(s.buffer);
  }

  /** Submit the pending commands. */
  flush(): void {
    this.#endPass();
    if (!this.#encoder) return;
    if (this.#arenaUsed > 0) {
      this.gpu.queue.writeBuffer(this.#arena, 0, this.#arenaWords.buffer, 0, this.#arenaUsed);
    }
    this.gpu.queue.submit([this.#encoder.finish()]);
    this.#encoder = undefined;
    this.#arenaUsed = 0;
    this.#pendingDispatches = 0;
    this.#submits++;
    for (const b of this.#deferred.splice(0)) this.#pool.give(b);
  }

  /** Wait until the GPU has finished everything submitted. */
  async sync(): Promise<void> {
    this.flush();
    await this.gpu.queue.onSubmittedWorkDone();
    this.check('sync');
  }

  /** Free pooled buffers and the GPUDevice. The device is unusable afterwards. */
  destroy(): void {
    this.flush();
    this.#pool.clear();
    this.#arena.destroy();
    this.gpu.destroy();
  }

  /** Encode one kernel launch into the pending batch. */
  dispatch(d: Dispatch): void {
    this.check(d.kernel);
    const words = packParams(d.count, d.params);
    const key = shaderKey(d.kernel, { ...d.spec, params: paramSignature(d.params.fields) });
    const paramBytes = words.length * 4;
    const slot = Math.ceil(paramBytes / this.#alignment) * this.#alignment;
    if (this.#arenaUsed + slot > PARAM_ARENA_BYTES) this.flush();
    const offset = this.#arenaUsed;
    this.#arenaWords.set(words, offset / 4);
    this.#arenaUsed += slot;

    const buffers = [...d.inputs, ...d.outputs];
    const types: GPUBufferBindingType[] = [
      ...d.inputs.map((): GPUBufferBindingType => 'read-only-storage'),
      ...d.outputs.map((): GPUBufferBindingType => 'storage'),
      'read-only-storage',
    ];
    const { pipeline, layout } = getPipeline(this.gpu, key, types, d.source);
    const bindGroup = this.gpu.createBindGroup({
      layout,
      entries: [
        ...buffers.map((s, binding) => ({
          binding,
          resource: { buffer: s.buffer, size: Math.max(s.bytes, 4) },
        })),
        {
          binding: buffers.length,
          resource: { buffer: this.#arena, offset, size: paramBytes },
        },
      ],
    });
    const pass = (this.#pass ??= this.#commandEncoder().beginComputePass());
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y, z] = this.grid(d.workgroups, d.kernel);
    pass.dispatchWorkgroups(x, y, z);
    this.#dispatches++;
    if (++this.#pendingDispatches >= this.batchSize) this.flush();
  }

  /**
   * A launch grid for `workgroups`: a count is folded into x and y so no dimension exceeds
   * maxComputeWorkgroupsPerDimension (kernels recover the linear id as x + y * num_workgroups.x
   * and ignore ids past their work).
   */
  grid(
    workgroups: number | readonly [number, number, number],
    where: string,
  ): [number, number, number] {
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    const dims: [number, number, number] =
      typeof workgroups === 'number'
        ? workgroups <= max
          ? [workgroups, 1, 1]
          : [max, Math.ceil(workgroups / max), 1]
        : [workgroups[0], workgroups[1], workgroups[2]];
    if (dims.some((d) => d > max)) {
      fail(
        where,
        `needs ${dims.join(' x ')} workgroups, over maxComputeWorkgroupsPerDimension ${max}`,
      );
    }
    return dims;
  }

  #commandEncoder(): GPUCommandEncoder {
    this.#encoder ??= this.gpu.createCommandEncoder();
    return this.#encoder;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = undefined;
  }
}
