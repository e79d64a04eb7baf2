/**
 * Terminal progress: on a TTY a bar redrawn in place while a case samples, then one line per
 * finished case; elsewhere (CI logs, files) only the finished lines.
 */
export interface ProgressSink {
  /** A case is sampling: `done` of `total` calls so far. */
  update(label: string, done: number, total: number): void;
  /** A line that stays (a finished case or a note). */
  line(text: string): void;
}

const BAR_WIDTH = 20;

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const live = stream.isTTY === true;
  let drawn = false;
  const clear = () => {
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    update(label, done, total) {
      if (!live) return;
      const filled = Math.round((done / Math.max(total, 1)) * BAR_WIDTH);
      clear();
      stream.write(
        `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total}`,
      );
      drawn = true;
    },
    line(text) {
      clear();
      stream.write(`${text}\n`);
    },
  };
}

/** Collects lines, for tests and for callers that want no terminal output. */
export function silentProgress(lines: string[] = []): ProgressSink & { lines: string[] } {
  return { lines, update() {}, line: (text) => lines.push(text) };
}
