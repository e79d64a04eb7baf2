/** Render a row-major matrix as an aligned text table with row and column labels. */
export function formatMatrix(
  data: ArrayLike<number>,
  rows: number,
  cols: number,
  rowLabels: readonly string[],
  colLabels: readonly string[],
  maxCols = 8,
): string {
  const shownCols = Math.min(cols, maxCols);
  const cell = (v: number) => (v === Number.NEGATIVE_INFINITY ? '-inf' : v.toFixed(3));
  const labelWidth = Math.max(...rowLabels.map((l) => l.length), 1);
  const header = colLabels.slice(0, shownCols).map((l) => l.slice(0, 8).padStart(8));
  const lines = [`${' '.repeat(labelWidth)} ${header.join(' ')}${cols > shownCols ? ' …' : ''}`];
  for (let r = 0; r < rows; r++) {
    const values = Array.from({ length: shownCols }, (_, c) =>
      cell(data[r * cols + c]!).padStart(8),
    );
    lines.push(
      `${rowLabels[r]!.padEnd(labelWidth)} ${values.join(' ')}${cols > shownCols ? ' …' : ''}`,
    );
  }
  return lines.join('\n');
}
