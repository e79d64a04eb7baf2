/**
 * The top `k` principal axes of a set of vectors (rows of `points`, each `dim` long), by
 * power iteration on the covariance with deflation: enough to lay a few dozen query and
 * key vectors out in 3-D. Deterministic (starts from a fixed vector).
 */
export function principalAxes(
  points: readonly Float32Array[],
  dim: number,
  k: number,
): Float64Array[] {
  const mean = new Float64Array(dim);
  for (const p of points) for (let c = 0; c < dim; c++) mean[c]! += p[c]! / points.length;
  const cov = new Float64Array(dim * dim);
  for (const p of points) {
    for (let a = 0; a < dim; a++) {
      for (let b = 0; b < dim; b++) cov[a * dim + b]! += (p[a]! - mean[a]!) * (p[b]! - mean[b]!);
    }
  }
  const axes: Float64Array[] = [];
  for (let axis = 0; axis < Math.min(k, dim); axis++) {
    let v = Float64Array.from({ length: dim }, (_, c) => (c === axis ? 1 : 0.1));
    for (let iter = 0; iter < 100; iter++) {
      const next = new Float64Array(dim);
      for (let a = 0; a < dim; a++)
        for (let b = 0; b < dim; b++) next[a]! += cov[a * dim + b]! * v[b]!;
      // Deflate: remove the directions already found.
      for (const u of axes) {
        const proj = dot(next, u);
        for (let c = 0; c < dim; c++) next[c]! -= proj * u[c]!;
      }
      const norm = Math.sqrt(dot(next, next));
      if (norm < 1e-12) break;
      v = next.map((x) => x / norm);
    }
    axes.push(v);
  }
  while (axes.length < k) axes.push(new Float64Array(dim));
  return axes;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let c = 0; c < a.length; c++) s += a[c]! * b[c]!;
  return s;
}
