import { fail } from '../errors.js';

/** A file opened for reading front to back, in whatever chunks its source delivers. */
export interface OpenedFile {
  /** Bytes in the file when the source knows it (a stat, a Content-Length, a Blob's size). */
  readonly size: number | undefined;
  /** The next chunk, or undefined at the end. */
  next(): Promise<Uint8Array | undefined>;
  /** Stop reading early (closes a file handle, cancels a download). */
  close(): Promise<void>;
}

/**
 * Reads exact byte counts from an `OpenedFile`, holding at most one request's bytes plus one
 * chunk: this is what keeps loading's peak host memory near the largest tensor.
 */
export class ByteReader {
  readonly #file: OpenedFile;
  readonly #name: string;
  readonly #onBytes: (read: number) => void;
  #pending: Uint8Array = new Uint8Array(0);
  #position = 0;

  constructor(file: OpenedFile, name: string, onBytes: (read: number) => void = () => {}) {
    this.#file = file;
    this.#name = name;
    this.#onBytes = onBytes;
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.#position;
  }

  /** The next `n` bytes; `what` names them in the error when the file ends first. */
  async read(n: number, what: string): Promise<Uint8Array> {
    if (this.#pending.byteLength >= n) return this.#take(n);
    const out = new Uint8Array(n);
    let filled = this.#pending.byteLength;
    out.set(this.#pending);
    this.#pending = new Uint8Array(0);
    while (filled < n) {
      const chunk = await this.#file.next();
      if (!chunk) {
        fail(
          'loadModel',
          `${this.#name}: ${what} needs bytes up to ${this.#position + n} but the file ends at byte ${this.#position + filled} (truncated?)`,
        );
      }
      this.#onBytes(chunk.byteLength);
      const used = Math.min(chunk.byteLength, n - filled);
      out.set(chunk.subarray(0, used), filled);
      filled += used;
      if (used < chunk.byteLength) this.#pending = chunk.subarray(used);
    }
    this.#position += n;
    return out;
  }

  /** Discard `n` bytes (tensors the model does not use, gaps between tensors). */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      // Read in bounded steps so skipping a large tensor does not hold it all.
      const step = Math.min(left, 1 << 24);
      await this.read(step, what);
      left -= step;
    }
  }

  close(): Promise<void> {
    return this.#file.close();
  }

  #take(n: number): Uint8Array {
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    this.#position += n;
    return out;
  }
}

/** Read a whole (small) file as UTF-8 text. */
export async function readText(file: OpenedFile): Promise<string> {
  const chunks: Uint8Array[] = [];
  for (let c = await file.next(); c; c = await file.next()) chunks.push(c);
  await file.close();
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** An `OpenedFile` over a web `ReadableStream` (a fetch body, a Blob's stream). */
export function fromReadableStream(
  stream: ReadableStream<Uint8Array>,
  size: number | undefined,
): OpenedFile {
  const reader = stream.getReader();
  return {
    size,
    async next() {
      const { done, value } = await reader.read();
      return done ? undefined : value;
    },
    async close() {
      await reader.cancel().catch(() => {});
    },
  };
}
