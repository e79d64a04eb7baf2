/**
 * Decodes ids as they arrive (e.g. from a sampler) into text, holding back the bytes of a
 * character split across tokens until the rest arrives, so no U+FFFD appears mid-stream.
 */
export class StreamDecoder {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  constructor(private readonly toBytes: (ids: ArrayLike<number>) => Uint8Array) {}

  /** Text completed by these ids (possibly empty). */
  write(ids: number | ArrayLike<number>): string {
    const bytes = this.toBytes(typeof ids === 'number' ? [ids] : ids);
    return this.decoder.decode(bytes, { stream: true });
  }

  /** Flushes held bytes; an incomplete trailing character becomes U+FFFD. */
  end(): string {
    return this.decoder.decode();
  }
}
