/**
 * Storage buffers bucketed by size. A released buffer goes back to its bucket and is handed
 * out again for any request that rounds to the same bucket, so a forward pass that allocates
 * the same shapes every step stops creating buffers after the first.
 */
export class BufferPool {
  readonly #free = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;
  #created = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly maxBytes: number,
  ) {}

  /**
   * The bucket a request of `bytes` falls in: powers of two up to 1 MiB, then steps of an
   * eighth of the enclosing power of two (at most 12.5% waste), never over `maxBytes`.
   */
  bucketSize(bytes: number): number {
    const minimum = Math.max(bytes, 256);
    let size: number;
    if (minimum <= 1 << 20) size = 2 ** Math.ceil(Math.log2(minimum));
    else {
      const step = 2 ** Math.floor(Math.log2(minimum)) / 8;
      size = Math.ceil(minimum / step) * step;
    }
    return Math.max(Math.min(size, Math.floor(this.maxBytes / 4) * 4), bytes);
  }

  acquire(bytes: number): GPUBuffer {
    const size = this.bucketSize(bytes);
    const bucket = this.#free.get(size);
    const reused = bucket?.pop();
    if (reused) {
      this.#pooledBytes -= size;
      return reused;
    }
    this.#created++;
    return this.device.createBuffer({ size, usage: this.usage });
  }

  give(buffer: GPUBuffer): void {
    const size = buffer.size;
    let bucket = this.#free.get(size);
    if (!bucket) this.#free.set(size, (bucket = []));
    bucket.push(buffer);
    this.#pooledBytes += size;
  }

  /** GPUBuffers created so far (reuse keeps this flat across repeated work). */
  get created(): number {
    return this.#created;
  }

  /** Bytes held by free buffers waiting for reuse. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** Destroy every free buffer. */
  clear(): void {
    for (const bucket of this.#free.values()) for (const b of bucket) b.destroy();
    this.#free.clear();
    this.#pooledBytes = 0;
  }
}
