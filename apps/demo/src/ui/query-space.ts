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
    const screen = points.slice(1).map(toScreen);
    screen.forEach(([x, y], j) => {
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
    });
    ctx.fillStyle = '#c0392b';
    ctx.beginPath();
    ctx.arc(qx, qy, 6, 0, 2 * Math.PI);
    ctx.fill();
    const placed = placeLabels(
      ctx,
      [{ text: 'query', x: qx, y: qy, priority: 2 }].concat(
        screen.map(([x, y], j) => ({
          text: keyLabels[j] ?? String(j),
          x,
          y,
          priority: weights[j] ?? 0,
        })),
      ),
      width,
      height,
    );
    for (const p of placed) {
      ctx.fillStyle = p.text === 'query' ? '#c0392b' : '#333';
      ctx.fillText(p.text, p.x, p.y);
    }
    canvas.dataset.labels = String(placed.length);
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
      'Drag to turn. The query (red) and the keys (blue) on their top three principal axes; bigger dots and darker lines mean larger softmax weights. Where labels would overlap, the key with the smaller weight goes unlabelled. A projection to 3-D loses most of the geometry: the table above is exact.',
    ),
  );
}

interface LabelAt {
  text: string;
  x: number;
  y: number;
  /** Labels with a higher priority (larger weight) are placed first. */
  priority: number;
}

/**
 * Place labels without overlaps: in order of priority, each tries a few spots around its
 * point and is left out when all of them collide with a label already placed (its dot stays;
 * the table above names every key). Returns where to draw each kept label.
 */
function placeLabels(
  ctx: CanvasRenderingContext2D,
  labels: LabelAt[],
  width: number,
  height: number,
): { text: string; x: number; y: number }[] {
  const boxes: [number, number, number, number][] = [];
  const out: { text: string; x: number; y: number }[] = [];
  const spots = [
    [7, -5],
    [7, 12],
    [-7, -5],
    [-7, 12],
    [0, -12],
    [0, 20],
  ] as const;
  for (const label of [...labels].sort((a, b) => b.priority - a.priority)) {
    const w = ctx.measureText(label.text).width;
    for (const [dx, dy] of spots) {
      const x = dx < 0 ? label.x + dx - w : label.x + dx;
      const y = label.y + dy;
      const box: [number, number, number, number] = [x - 1, y - 11, x + w + 1, y + 2];
      const inside = box[0] >= 0 && box[1] >= 0 && box[2] <= width && box[3] <= height;
      const free = boxes.every(
        (b) => box[2] <= b[0] || box[0] >= b[2] || box[3] <= b[1] || box[1] >= b[3],
      );
      if (inside && free) {
        boxes.push(box);
        out.push({ text: label.text, x, y });
        break;
      }
    }
  }
  return out;
}
