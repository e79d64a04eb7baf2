import { DEFAULT_SETTINGS, QUICK_SETTINGS } from '../context.js';
import { type DeviceKind, type KernelsModule, openDevice } from '../devices.js';
import type { ProgressSink } from '../progress.js';
import type { BenchResult } from '../result.js';
import { runSuites } from '../run-suites.js';
import { SUITES } from '../suites/index.js';
import { browserEnvironment } from './browser-env.js';
import { loadOrtFromPage, webgpuPeersSuite } from './webgpu-peers.js';

/** The CLI's suites and, in the page only, qkv beside onnxruntime-web on the same adapter. */
const LIVE_SUITES = [...SUITES, webgpuPeersSuite(loadOrtFromPage)];

/**
 * The page's "run here" panel: runs suites in the visitor's browser, on the CPU backend or on
 * WebGPU through `@qkv/kernels` (bundled into the page when the package exists), and hands
 * each result to the charts like a loaded file.
 */
export function livePanel(
  parent: HTMLElement,
  onResult: (result: BenchResult) => void,
  kernels?: KernelsModule,
): void {
  const hasGpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
  parent.innerHTML = `
<h2>Run in this browser</h2>
<form id="live-form">
  <fieldset><legend>suites</legend>${LIVE_SUITES.map(
    (s) =>
      `<label><input type="checkbox" name="suite" value="${s.name}" checked> ${s.name}</label>`,
  ).join(' ')}</fieldset>
  <label>device <select name="device">
    <option value="cpu">cpu (qkv's reference backend, in JavaScript)</option>
    <option value="webgpu"${hasGpu && kernels ? '' : ' disabled'}>webgpu${
      kernels ? (hasGpu ? '' : ' (this browser has no navigator.gpu)') : ' (not in this build)'
    }</option>
  </select></label>
  <label><input type="checkbox" name="quick" checked> quick (tiny sizes)</label>
  <button type="submit">Run</button>
  <span id="live-status"></span>
</form>
<pre id="live-log"></pre>
<p id="live-download"></p>`;
  const form = parent.querySelector<HTMLFormElement>('#live-form')!;
  const status = parent.querySelector<HTMLElement>('#live-status')!;
  const log = parent.querySelector<HTMLElement>('#live-log')!;
  const download = parent.querySelector<HTMLElement>('#live-download')!;
  const progress: ProgressSink = {
    update: (label, done, total) => {
      status.textContent = `${label}: ${done}/${total}`;
    },
    line: (text) => {
      log.textContent += `${text}\n`;
    },
  };
  let runs = 0;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const names = data.getAll('suite').map(String);
    const button = form.querySelector('button')!;
    button.disabled = true;
    log.textContent = '';
    try {
      const kind = String(data.get('device')) as DeviceKind;
      const bench = await openDevice(kind, kernels ? { kernels } : {});
      const result = await runSuites({
        name: `browser-${++runs}`,
        suites: LIVE_SUITES.filter((s) => names.includes(s.name)),
        // Browsers coarsen the clock (0.1 ms in Chromium without cross-origin isolation).
        settings: { ...(data.get('quick') ? QUICK_SETTINGS : DEFAULT_SETTINGS), minSampleMs: 5 },
        bench,
        progress,
        environment: (b) => browserEnvironment(b.info),
      });
      status.textContent = 'done';
      const url = URL.createObjectURL(
        new Blob([JSON.stringify(result, null, 2)], { type: 'application/json' }),
      );
      download.innerHTML = '';
      const link = document.createElement('a');
      link.href = url;
      link.download = `${result.name}.json`;
      link.textContent = `download ${result.name}.json`;
      download.append(link);
      onResult(result);
    } catch (error) {
      status.textContent = 'failed';
      progress.line((error as Error).message);
    } finally {
      button.disabled = false;
    }
  });
}
