import type { KernelsModule } from '../devices.js';
import { formatBytes, formatMs, formatParams, formatRate } from '../format.js';
import { type BenchResult, parseResult } from '../result.js';
import { summarizeRun, summaryLines } from '../summary.js';
import { drawSuite } from './charts.js';
import { livePanel } from './live.js';
import { suiteNames, suiteView } from './model.js';

/**
 * The dashboard page: draws the result files embedded by the CLI, plus any the visitor opens
 * with the file picker (to compare runs).
 */
const results: BenchResult[] = [];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function environmentBlock(r: BenchResult, index: number): HTMLElement {
  const env = r.environment;
  const box = el('section', undefined, 'run');
  box.append(el('h3', `Run ${index + 1}: ${r.name}`));
  const facts: [string, string][] = [
    ['date', r.createdAt],
    ['device', `${env.device.name} (${env.device.kind})`],
    env.browser
      ? ['browser', `${env.browser} (${env.platform})`]
      : ['node', `${env.node} on ${env.platform}/${env.arch}`],
    ['cpu', `${env.cpu.model} × ${env.cpu.cores}`],
    [
      'git',
      env.git ? `${env.git.commit.slice(0, 12)}${env.git.dirty ? ' (modified)' : ''}` : 'unknown',
    ],
    [
      'packages',
      Object.entries(env.packages)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    [
      'options',
      `${r.options.quick ? 'quick, ' : ''}warm-up ${r.options.warmup}, repeats ${r.options.repeats}`,
    ],
  ];
  const dl = el('dl');
  for (const [k, v] of facts) dl.append(el('dt', k), el('dd', v));
  box.append(dl);
  if (env.device.adapter || env.device.features || env.device.limits) {
    const details = el('details');
    details.append(el('summary', 'adapter, features and limits'));
    details.append(
      el(
        'pre',
        JSON.stringify(
          { adapter: env.device.adapter, features: env.device.features, limits: env.device.limits },
          null,
          2,
        ),
      ),
    );
    box.append(details);
  }
  for (const e of r.errors) box.append(el('p', `${e.suite} failed: ${e.message}`, 'error'));
  return box;
}

/**
 * What the runs show, per suite, before any chart: the latest run against its peers and
 * variants, its growth slopes, and with two or more runs what changed since the first.
 */
function summaryBlock(): HTMLElement {
  const box = el('section', undefined, 'summary');
  box.id = 'summary';
  const latest = results[results.length - 1];
  if (!latest) return box;
  const first = results.length > 1 ? results[0] : undefined;
  box.append(
    el(
      'h2',
      first
        ? `Summary of run ${results.length} (${latest.name}), and what changed since run 1 (${first.name})`
        : `Summary of ${latest.name}`,
    ),
  );
  for (const s of summarizeRun(latest, first)) {
    const lines = summaryLines(s, first?.name);
    if (lines.length === 0) continue;
    const item = el('div', undefined, 'suite-summary');
    item.dataset.suite = s.suite;
    const list = el('ul');
    for (const line of lines) list.append(el('li', line));
    item.append(el('h3', s.suite), list);
    box.append(item);
  }
  return box;
}

function measurementTable(suite: string): HTMLTableElement {
  const table = el('table');
  const head = el('tr');
  const rows = results.flatMap((r, run) =>
    r.measurements.filter((x) => x.suite === suite).map((m) => ({ m, run })),
  );
  // Memory is recorded on WebGPU only: no empty column elsewhere.
  const withMemory = rows.some(({ m }) => m.peakBytes !== undefined);
  const headers = ['run', 'case', 'name', 'median', 'MAD', 'min', 'samples', 'rate'];
  for (const h of withMemory ? [...headers, 'peak mem'] : headers) head.append(el('th', h));
  table.append(head);
  for (const { m, run } of rows) {
    const row = el('tr');
    for (const cell of [
      String(run + 1),
      formatParams(m.params),
      m.name,
      formatMs(m.medianMs),
      formatMs(m.madMs),
      formatMs(m.minMs),
      String(m.samplesMs.length),
      formatRate(m),
      ...(withMemory ? [m.peakBytes === undefined ? '' : formatBytes(m.peakBytes)] : []),
    ]) {
      row.append(el('td', cell));
    }
    table.append(row);
  }
  return table;
}

function render(): void {
  const root = document.getElementById('app')!;
  root.replaceChildren();
  const runs = el('div', undefined, 'runs');
  for (const [i, r] of results.entries()) runs.append(environmentBlock(r, i));
  root.append(runs, summaryBlock());
  let charts = 0;
  for (const suite of suiteNames(results)) {
    const section = el('section', undefined, 'suite');
    section.dataset.suite = suite;
    section.append(el('h2', suite));
    const grid = el('div', undefined, 'charts');
    section.append(grid);
    charts += drawSuite(grid, suiteView(results, suite));
    const details = el('details');
    details.append(el('summary', 'all measurements'), measurementTable(suite));
    section.append(details);
    root.append(section);
  }
  document.body.dataset.charts = String(charts);
  document.body.dataset.ready = 'true';
}

function showError(message: string): void {
  document.getElementById('errors')!.append(el('p', message, 'error'));
}

/** Entry of the page script; `kernels` is the bundled WebGPU backend when the build has one. */
export function startDashboard(kernels?: KernelsModule): void {
  const embedded = document.getElementById('qkv-bench-data')?.textContent;
  if (embedded) {
    const parsed: unknown = JSON.parse(embedded);
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
      try {
        results.push(parseResult(JSON.stringify(item), 'embedded result'));
      } catch (error) {
        showError((error as Error).message);
      }
    }
  }

  document.getElementById('files')?.addEventListener('change', async (event) => {
    const input = event.target as HTMLInputElement;
    for (const file of Array.from(input.files ?? [])) {
      try {
        results.push(parseResult(await file.text(), file.name));
      } catch (error) {
        showError((error as Error).message);
      }
    }
    render();
  });

  const live = document.getElementById('live');
  if (live) {
    livePanel(
      live,
      (result) => {
        results.push(result);
        render();
      },
      kernels,
    );
  }
  render();
}
