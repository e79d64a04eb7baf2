import { kernelsWasmBase64, sharedKernelsWasmBase64 } from './generated/kernels-wasm.js';
import { canBlockOnSharedMemory, type KernelCall, ThreadPool } from './thread-pool.js';

/** The exports of assembly/index.ts. Pointers and sizes are bytes; dimensions are elements. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  matmulScratchBytes(m: number, n: number, k: number): number;
  matmul(
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    k: number,
    aRs: number,
    aCs: number,
    bRs: number,
    bCs: number,
    scratch: number,
  ): void;
  softmaxRows(x: number, out: number, rows: number, width: number): void;
  normRows(
    x: number,
    out: number,
    rows: number,
    width: number,
    weight: number,
    bias: number,
    eps: number,
    center: number,
  ): void;
  attentionScratchBytes(l: number, s: number, e: number, ev: number): number;
  attentionHead(
    q: number,
    k: number,
    v: number,
    out: number,
    lse: number,
    l: number,
    s: number,
    e: number,
    ev: number,
    scale: number,
    causal: number,
    offset: number,
    h: number,
    firstBlock: number,
    blockStep: number,
    scratch: number,
  ): void;
  unaryF32(op: number, x: number, out: number, n: number): void;
  binaryF32(
    op: number,
    a: number,
    aRow: number,
    aCol: number,
    b: number,
    bRow: number,
    bCol: number,
    out: number,
    rows: number,
    cols: number,
  ): void;
  blockSparseHead(
    q: number,
    k: number,
    v: number,
    out: number,
    lse: number,
    l: number,
    s: number,
    e: number,
    ev: number,
    scale: number,
    blockQ: number,
    blockKv: number,
    table: number,
    firstBlock: number,
    blockStep: number,
    scratch: number,
  ): void;
  /** The score terms of one batch entry (assembly/score-terms.ts). */
  setHeadTerms(
    softcap: number,
    slopes: number,
    a: number,
    aHead: number,
    aRow: number,
    aCol: number,
    b: number,
    bHead: number,
    bRow: number,
    bCol: number,
  ): void;
  blockSparseBackwardBlock(
    q: number,
    k: number,
    v: number,
    dOut: number,
    lse: number,
    delta: number,
    dk: number,
    dv: number,
    dq: number,
    l: number,
    s: number,
    e: number,
    ev: number,
    scale: number,
    blockQ: number,
    blockKv: number,
    kStart: number,
    j0: number,
    visits: number,
    count: number,
    scratch: number,
  ): void;
  // The gradient of attention (assembly/attention-backward.ts).
  attentionGradScratchBytes(l: number, s: number, e: number, ev: number): number;
  attentionLseHead(
    q: number,
    k: number,
    lse: number,
    l: number,
    s: number,
    e: number,
    scale: number,
    causal: number,
    offset: number,
    h: number,
    firstBlock: number,
    blockStep: number,
    scratch: number,
  ): void;
  attentionBackwardBlock(
    q: number,
    k: number,
    v: number,
    dOut: number,
    lse: number,
    delta: number,
    dk: number,
    dv: number,
    dq: number,
    h0: number,
    group: number,
    l: number,
    s: number,
    e: number,
    ev: number,
    scale: number,
    causal: number,
    offset: number,
    j0: number,
    scratch: number,
  ): void;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const chars = atob(text);
  const bytes = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i++) bytes[i] = chars.charCodeAt(i);
  return bytes;
}

/** True where the engine runs 128-bit SIMD WebAssembly (every current browser and Node >= 16). */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(decodeBase64(kernelsWasmBase64));
}

/**
 * One instance of the kernels and its linear memory, used as a scratch arena: a kernel call
 * reserves what it needs (`layout`), copies its inputs in, runs, and copies its outputs out.
 * Tensors themselves live in ordinary typed arrays, so the reference CPU kernels read them too.
 */
export class KernelModule {
  readonly exports: KernelExports;
  /** Threads the kernels split their work over (this one included). */
  readonly threads: number;
  readonly #pool: ThreadPool | undefined;
  /** Eight bytes the pool counts finished workers (and failures) in. */
  readonly #counter: number;
  readonly #base: number;

  private constructor(exports: KernelExports, pool?: ThreadPool, threads = 1) {
    this.exports = exports;
    this.#pool = pool;
    this.threads = threads;
    this.#counter = align(exports.heapBase());
    this.#base = this.#counter + 16;
  }

  /**
   * Instantiate the kernels. With `threads > 1` where shared memory and blocking waits are
   * available (Node; a cross-origin-isolated page's worker), the shared-memory build with
   * `threads - 1` workers; otherwise one thread.
   */
  static async create(threads = 1): Promise<KernelModule> {
    if (threads > 1 && canBlockOnSharedMemory()) {
      const module = await WebAssembly.compile(decodeBase64(sharedKernelsWasmBase64));
      // Initial and maximum pages as the module declares them (scripts/build-wasm.mjs).
      const memory = new WebAssembly.Memory({ initial: 16, maximum: 32768, shared: true });
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      const pool = await ThreadPool.create(threads - 1, module, memory);
      const exports = { ...instance.exports, memory } as unknown as KernelExports;
      return new KernelModule(exports, pool, threads);
    }
    const { instance } = await WebAssembly.instantiate(decodeBase64(kernelsWasmBase64));
    return new KernelModule(instance.exports as unknown as KernelExports);
  }

  /** Run `calls[t]` on thread t (t < threads), all at once; returns when every one is done. */
  parallel(calls: readonly (readonly KernelCall[])[]): void {
    const runHere = (list: readonly KernelCall[]) => {
      const table = this.exports as unknown as Record<string, (...args: number[]) => void>;
      for (const [name, args] of list) table[name]!(...args);
    };
    if (this.#pool) this.#pool.run(calls, this.#counter, runHere);
    else for (const list of calls) runHere(list);
  }

  /** Stop the worker threads (the device is unusable afterwards). */
  terminate(): void {
    this.#pool?.terminate();
  }

  /**
   * Byte offsets for regions of the given sizes (16-byte aligned), growing memory to fit.
   * Valid until the next call; views made before a call may be detached by the growth.
   */
  layout(sizes: readonly number[]): number[] {
    let at = this.#base;
    const offsets = sizes.map((bytes) => {
      const start = at;
      at = align(at + bytes);
      return start;
    });
    const memory = this.exports.memory;
    const missing = at - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    return offsets;
  }

  /**
   * Copy `operands` (as float32) into module memory, reserve `extraBytes` more regions, and
   * call `run` with the byte offsets of all of them, operands first.
   */
  withOperands<T>(
    operands: readonly ArrayLike<number>[],
    extraBytes: readonly number[],
    run: (pointers: number[]) => T,
  ): T {
    const pointers = this.layout([...operands.map((o) => o.length * 4), ...extraBytes]);
    operands.forEach((o, i) => {
      this.f32(pointers[i]!, o.length).set(o);
    });
    return run(pointers);
  }

  /** A float32 view of `length` elements at byte offset `ptr` (taken after `layout`). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, ptr, length);
  }
}

function align(bytes: number): number {
  return (bytes + 15) & ~15;
}
