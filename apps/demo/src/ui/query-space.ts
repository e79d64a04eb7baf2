import { mat4, vec3 } from 'wgpu-matrix';
import type { Matrix } from '../model/matrix.js';
import { rowOf } from '../model/matrix.js';
import { principalAxes } from '../model/principal-axes.js';
import { h } from './dom.js';

/**
 * The query and the keys of one head as points in 3-D (their top three principal axes),
 * seen through a perspective camera that orbits on drag. Each key's dot is as large as its
 * softmax weight; the line from the query to a key is as dark.
 */
export function querySpace(
  query: Float32Array,
  keys: Matrix,
  weights: Float32Array,
  keyLabels: readonly string[],
): HTMLElement {
  const width = 420;
  const height = 320;
  const canvas = h('canvas', { width, height, class: 'space', 'data-name': 'query-space' });
  const keyRows = Array.from({ length: keys.rows }, (_, j) => rowOf(keys, j));
  const axes = principalAxes([query, ...keyRows], keys.cols, 3);
  const project = (v: Float32Array) =>
    axes.map((axis) => axis.reduce((s, a, c) => s + a * v[c]!, 0)) as [number, number, number];
  const points = [query, ...keyRows].map(project);
  const radius = Math.max(1e-6, ...points.flat().map(Math.abs));
  let yaw = 0.6;
  let pitch = 0.35;

  const draw = () => {
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const eye = vec3.fromValues(
      3 * radius * Math.cos(pitch) * Math.sin(yaw),
      3 * radius * Math.sin(pitch),
      3 * radius * Math.cos(pitch) * Math.cos(yaw),
    );
    const view = mat4.lookAt(eye, [0, 0, 0], [0, 1, 0]);
    const projection = mat4.perspective(Math.PI / 4, width / height, radius * 0.1, radius * 10);
    const viewProjection = mat4.multiply(projection, view);
    const toScreen = (p: readonly number[]) => {
      const ndc = vec3.transformMat4(vec3.fromValues(p[0]!, p[1]!, p[2]!), viewProjection);
      return [((ndc[0]! + 1) / 2) * width, ((1 - ndc[1]!) / 2) * height] as const;
    };
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';
    // Axes of the principal-component frame.
    for (const [axis, colour] of [
      [[radius, 0, 0], '#d66'],
      [[0, radius, 0], '#6a6'],
      [[0, 0, radius], '#66d'],
    ] as const) {
      const [ox, oy] = toScreen([0, 0, 0]);
      const [ax, ay] = toScreen(axis);
      ctx.strokeStyle = colour;
      ctx.beginPath();
      ctx.moveTo(ox, oy);
      ctx.lineTo(ax, ay);
      ctx.stroke();
    }
    const [qx, qy] = toScreen(points[0]!);
    points.slice(1).forEach((p, j) => {
      const [x, y] = toScreen(p);
      const w = weights[j] ?? 0;
      ctx.strokeStyle = `rgba(30,80,180,${0.1 + 0.9 * w})`;
      ctx.beginPath();
      ctx.moveTo(qx, qy);
      ctx.lineTo(x, y);
      ctx.stroke();
      ctx.fillStyle = '#1e50b4';
      ctx.beginPath();
      ctx.arc(x, y, 2 + 10 * w, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = '#333';
      ctx.fillText(keyLabels[j] ?? String(j), x + 5, y - 5);
    });
    ctx.fillStyle = '#c0392b';
    ctx.beginPath();
    ctx.arc(qx, qy, 6, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillText('query', qx + 7, qy + 12);
  };

  let dragging: { x: number; y: number } | undefined;
  canvas.addEventListener('pointerdown', (e) => {
    dragging = { x: e.clientX, y: e.clientY };
  });
  canvas.addEventListener('pointerup', () => {
    dragging = undefined;
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!dragging) return;
    yaw += (e.clientX - dragging.x) * 0.01;
    pitch = Math.max(-1.4, Math.min(1.4, pitch + (e.clientY - dragging.y) * 0.01));
    dragging = { x: e.clientX, y: e.clientY };
    draw();
  });
  queueMicrotask(draw);
  return h(
    'figure',
    {},
    canvas,
    h(
      'figcaption',
      { class: 'note' },
      'Drag to turn. The query (red) and the keys (blue) on their top three principal axes; bigger dots and darker lines mean larger softmax weights. A projection to 3-D loses most of the geometry: the table above is exact.',
    ),
  );
}
