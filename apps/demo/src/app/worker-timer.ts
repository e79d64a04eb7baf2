import type { Timing } from '../model/cost.js';
import type { PatternMask } from '../model/masks.js';
import type { TimingRequest } from './timing-worker.js';

/** Times masked attention in the timing worker; `threads` is what its device got. */
export interface WorkerTimer {
  threads: number;
  time(mask: PatternMask, headDim: number, repeats: number): Promise<Timing>;
}

type Reply = { id: number; timing?: Timing; error?: string };

let started: Promise<WorkerTimer> | undefined;

/**
 * Start the timing worker once (Vite bundles `timing-worker.ts` as a module worker); rejects
 * where the page cannot start module workers, so the caller times on the main thread instead.
 */
export function workerTimer(): Promise<WorkerTimer> {
  started ??= new Promise<WorkerTimer>((resolve, reject) => {
    const worker = new Worker(new URL('./timing-worker.ts', import.meta.url), { type: 'module' });
    const pending = new Map<number, { resolve(t: Timing): void; reject(e: Error): void }>();
    let next = 0;
    worker.onerror = (event) => reject(new Error(`the timing worker failed: ${event.message}`));
    worker.onmessage = ({ data }: MessageEvent<Reply | { threads?: number; error?: string }>) => {
      if (!('id' in data)) {
        if (data.threads === undefined) reject(new Error(data.error));
        else resolve({ threads: data.threads, time });
        return;
      }
      const call = pending.get(data.id)!;
      pending.delete(data.id);
      if (data.timing) call.resolve(data.timing);
      else call.reject(new Error(data.error));
    };
    const time = (mask: PatternMask, headDim: number, repeats: number) =>
      new Promise<Timing>((resolveCall, rejectCall) => {
        const id = next++;
        pending.set(id, { resolve: resolveCall, reject: rejectCall });
        const request: TimingRequest = { id, n: mask.n, allowed: mask.allowed, headDim, repeats };
        worker.postMessage(request);
      });
  }).catch((error: unknown) => {
    started = undefined;
    throw error;
  });
  return started;
}
