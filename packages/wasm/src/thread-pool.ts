/**
 * Worker threads that run kernel calls on a shared `WebAssembly.Memory`: each worker holds an
 * instance of the same module over the same memory, receives a list of calls, runs them and
 * bumps a counter in that memory; the calling thread does its own share and then blocks on the
 * counter with `Atomics.wait`. Node's worker_threads or Web Workers; both need
 * `SharedArrayBuffer` (a cross-origin-isolated page) and a thread that may block.
 */

/** One call of a module export: its name and arguments. */
export type KernelCall = readonly [name: string, args: readonly number[]];

// Runs inside each worker, as a classic script (Node: `eval: true`; browsers: a Blob URL).
const WORKER_SOURCE = `
const isNode = typeof self === 'undefined';
const port = isNode ? require('node:worker_threads').parentPort : self;
const listen = (f) => isNode ? port.on('message', f) : (self.onmessage = (e) => f(e.data));
let kernels;
let memory;
listen((msg) => {
  if (msg.module) {
    memory = msg.memory;
    kernels = new WebAssembly.Instance(msg.module, { env: { memory } }).exports;
    port.postMessage('ready');
    return;
  }
  // [0]: workers finished, [1]: set when one failed. Always count, or the caller waits forever.
  const state = new Int32Array(memory.buffer, msg.counter, 2);
  try {
    for (const [name, args] of msg.calls) kernels[name](...args);
  } catch (error) {
    Atomics.store(state, 1, 1);
    console.error(error);
  } finally {
    Atomics.add(state, 0, 1);
    Atomics.notify(state, 0);
  }
});
`;

interface WorkerHandle {
  post(message: unknown): void;
  /** Resolves with the first message the worker sends. */
  firstMessage(): Promise<unknown>;
  terminate(): void;
}

/** True where this thread may block on `Atomics.wait` over shared memory. */
export function canBlockOnSharedMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false; // a browser's main thread
  }
}

async function spawnWorker(): Promise<WorkerHandle> {
  const nodeVersion = (globalThis as { process?: { versions?: { node?: string } } }).process
    ?.versions?.node;
  if (nodeVersion) {
    // A variable specifier keeps bundlers for the browser from resolving the Node module.
    const specifier = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ specifier)) as {
      Worker: new (
        source: string,
        options: { eval: true },
      ) => {
        postMessage(m: unknown): void;
        once(event: 'message', f: (m: unknown) => void): void;
        unref(): void;
        terminate(): Promise<number>;
      };
    };
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // Idle workers must not keep a Node process alive.
    worker.unref();
    return {
      post: (m) => worker.postMessage(m),
      firstMessage: () => new Promise((resolve) => worker.once('message', resolve)),
      terminate: () => void worker.terminate(),
    };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  return {
    post: (m) => worker.postMessage(m),
    firstMessage: () =>
      new Promise((resolve) => {
        worker.addEventListener('message', (e) => resolve(e.data), { once: true });
      }),
    terminate: () => worker.terminate(),
  };
}

export class ThreadPool {
  readonly #workers: WorkerHandle[];
  readonly #memory: WebAssembly.Memory;

  private constructor(workers: WorkerHandle[], memory: WebAssembly.Memory) {
    this.#workers = workers;
    this.#memory = memory;
  }

  /** Start `count` workers, each instantiating `module` over `memory`. */
  static async create(
    count: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
  ): Promise<ThreadPool> {
    const workers = await Promise.all(Array.from({ length: count }, spawnWorker));
    await Promise.all(
      workers.map((w) => {
        const ready = w.firstMessage();
        w.post({ module, memory });
        return ready;
      }),
    );
    return new ThreadPool(workers, memory);
  }

  /**
   * Run `calls[t]` on worker t - 1 for t >= 1 while `runHere` runs `calls[0]` on this thread;
   * return when all are done (throwing if a worker failed). `counter` is the byte offset of
   * 8 bytes of scratch memory: finished workers, and a failure flag.
   */
  run(
    calls: readonly (readonly KernelCall[])[],
    counter: number,
    runHere: (calls: readonly KernelCall[]) => void,
  ): void {
    const view = new Int32Array(this.#memory.buffer, counter, 2);
    Atomics.store(view, 0, 0);
    Atomics.store(view, 1, 0);
    const posted = calls.slice(1).filter((c, i) => {
      if (c.length === 0) return false;
      this.#workers[i]!.post({ calls: c, counter });
      return true;
    }).length;
    try {
      runHere(calls[0] ?? []);
    } finally {
      // Workers may still be writing to memory the caller reuses: wait for them either way.
      for (let done = Atomics.load(view, 0); done < posted; done = Atomics.load(view, 0)) {
        Atomics.wait(view, 0, done);
      }
    }
    if (Atomics.load(view, 1) !== 0) {
      throw new Error('@qkv/wasm: a worker thread failed in a kernel (its error was logged)');
    }
  }

  terminate(): void {
    for (const w of this.#workers) w.terminate();
  }
}
