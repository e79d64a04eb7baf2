import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, launchBrowser, type StaticServer, serveStatic } from '@qkv/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMeasurement } from '../context.js';
import { parseResult } from '../result.js';
import { dashboardHtml } from './build.js';
import { writeSite } from './site.js';

const app = new URL('../../', import.meta.url);
const samples = ['cpu-run-a.json', 'cpu-run-b.json'].map((f) =>
  fileURLToPath(new URL(`samples/${f}`, app)),
);
const artifacts = fileURLToPath(new URL('artifacts/', app));

describe('dashboard page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    // The live-run panel uses the CPU backend; the page needs no WebGPU.
    browser = await launchBrowser({ webgpu: false });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('draws the committed sample runs side by side and keeps a screenshot', async () => {
    const results = samples.map((path) => parseResult(readFileSync(path, 'utf8'), path));
    mkdirSync(artifacts, { recursive: true });
    const page_ = `${artifacts}dashboard.html`;
    writeFileSync(page_, await dashboardHtml(results));

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    await page.goto(pathToFileURL(page_).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    expect(problems).toEqual([]);

    const suites = [
      'peak',
      'matmul',
      'softmax',
      'attention',
      'decode',
      'positional',
      'sparse',
      'tokenizer',
    ];
    expect(await page.locator('section.suite h2').allTextContents()).toEqual(suites);
    const charts = await page.$$eval('section.suite canvas', (cs) => cs.length);
    expect(await page.getAttribute('body', 'data-charts')).toBe(String(charts));
    expect(await page.locator('.run h3').allTextContents()).toEqual([
      'Run 1: cpu-run-a',
      'Run 2: cpu-run-b',
    ]);

    // The summary comes first: where qkv stands against each peer and its own variants, in
    // words, its growth slopes, the peak named for what it is, and what changed since run 1.
    expect(await page.locator('#summary h2').textContent()).toBe(
      'Summary of run 2 (cpu-run-b), and what changed since run 1 (cpu-run-a)',
    );
    const summary = async (suite: string) =>
      page.locator(`#summary [data-suite="${suite}"] li`).allTextContents();
    expect(await page.locator('#summary h3').allTextContents()).toEqual(suites);
    expect(await summary('peak')).toContainEqual(
      expect.stringMatching(
        /^single-thread JavaScript peak \(float64 multiply-add chains\): [\d.]+ GFLOP\/s$/,
      ),
    );
    const attention = await summary('attention');
    expect(attention[0]).toMatch(
      /^against onnxruntime-node: qkv is [\d.]+x slower \(median of 14 cases; from [\d.]+x slower to [\d.]+x (slower|faster)\)$/,
    );
    expect(attention[1]).toMatch(/^against its own path "qkv materialised": qkv is [\d.]+x faster/);
    expect(attention).toContainEqual(
      expect.stringMatching(/^time grows as seqLen\^k, k = \d\.\d\d \(qkv D=64 full\)/),
    );
    expect(attention).toContainEqual(expect.stringMatching(/^qkv since cpu-run-a: /));
    // The mask build is a step of the op, not a peer: never compared.
    expect((await summary('sparse')).join('\n')).not.toMatch(/against/);

    // Every chart: no two datasets share both colour and marker; ratio charts carry the
    // ratio = 1 line.
    const charted = await page.$$eval('canvas', (cs) =>
      cs.map((c) => ({
        title: c.getAttribute('aria-label')!,
        datasets: JSON.parse(c.dataset.datasets!) as {
          label: string;
          colour: string;
          marker: string;
        }[],
        reference: c.dataset.reference,
      })),
    );
    for (const chart of charted) {
      const looks = chart.datasets.map((d) => `${d.colour} ${d.marker}`);
      expect(new Set(looks).size, `${chart.title}: ${looks.join(', ')}`).toBe(looks.length);
      expect(chart.datasets.length, chart.title).toBeLessThanOrEqual(14);
      if (/against/.test(chart.title)) expect(chart.reference, chart.title).toBe('1');
    }
    const titles = charted.map((c) => c.title);
    // The single peak measurement has no chart; attention is split by head size, sparse
    // by kind of pattern with the mask build on its own chart and no peers chart.
    expect(titles.filter((t) => t.startsWith('peak'))).toEqual([]);
    expect(titles).toContain('attention D=64: median time vs seqLen');
    expect(titles).toContain('attention D=128: median time vs seqLen');
    expect(titles).toContain('attention D=64: qkv against its own variants');
    expect(titles).toContain('sparse N² patterns: qkv-block-mask-build time vs n');
    expect(titles).toContain('sparse sub-quadratic patterns: median time vs n');
    expect(
      titles.filter((t) => t.startsWith('sparse') && /against (peers|its own)/.test(t)),
    ).toEqual([]);
    // Unrelated sizes are cases side by side, not a line against one of their params.
    expect(titles.filter((t) => t.startsWith('positional'))).toEqual([
      'positional: MB/s per case',
      'positional: later runs against run 1',
    ]);
    expect(titles.filter((t) => t.startsWith('tokenizer'))).toEqual([
      'tokenizer: MB/s per case',
      'tokenizer: qkv against peers',
      'tokenizer: later runs against run 1',
    ]);
    // Softmax grows with the element count, not with one side of the matrix.
    expect(titles).toContain('softmax: median time vs elements');
    // Every canvas has drawn something beyond a blank background.
    const inked = await page.$$eval('canvas', (canvases) =>
      canvases.map((c) => {
        const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n / (c.width * c.height);
      }),
    );
    expect(inked).toHaveLength(charts);
    for (const share of inked) expect(share).toBeGreaterThan(0.01);
    const datasets = async (label: string): Promise<string[]> =>
      JSON.parse((await page.getAttribute(`canvas[aria-label="${label}"]`, 'data-datasets'))!).map(
        (d: { label: string }) => d.label,
      );
    // Each line's legend carries its fitted log-log slope.
    const timeLines = await datasets('matmul: median time vs n');
    expect(timeLines.map((l) => l.replace(/ · slope -?\d+\.\d\d$/, ''))).toEqual([
      'qkv square (cpu-run-a)',
      'onnxruntime-node square (cpu-run-a)',
      'qkv heads=8 k=64 (cpu-run-a)',
      'onnxruntime-node heads=8 k=64 (cpu-run-a)',
      'qkv square (cpu-run-b)',
      'onnxruntime-node square (cpu-run-b)',
      'qkv heads=8 k=64 (cpu-run-b)',
      'onnxruntime-node heads=8 k=64 (cpu-run-b)',
    ]);
    for (const line of timeLines) expect(line).toMatch(/ · slope -?\d+\.\d\d$/);
    // The committed runs include the peak suite: its measurement is each run's ceiling,
    // named for what it is.
    expect(
      (await datasets('matmul: GFLOP/s vs n')).filter((l) =>
        l.startsWith('single-thread JavaScript peak'),
      ),
    ).toHaveLength(2);
    expect(await datasets('softmax: qkv against peers')).toEqual([
      'onnxruntime-node square (run 1)',
      'onnxruntime-node square (run 2)',
    ]);
    await page.screenshot({ path: `${artifacts}dashboard.png`, fullPage: true });

    // A third result opened with the file picker joins the comparison.
    await page.setInputFiles('#files', samples[0]!);
    await page.waitForFunction(() => document.querySelectorAll('.run').length === 3);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("draws peak memory and the peak suite's measured peak when a run has them", async () => {
    // A sample run given what a WebGPU run adds: peak memory per case and a `peak` suite.
    const result = parseResult(readFileSync(samples[0]!, 'utf8'), samples[0]);
    result.measurements = result.measurements.filter((m) => m.suite === 'attention');
    for (const m of result.measurements) {
      if (m.name.startsWith('qkv')) m.peakBytes = 1024 * Number(m.params.seqLen);
    }
    result.measurements.push(
      toMeasurement('peak', 'fma-chains', { backend: 'cpu', threads: 1 }, [1000], { flops: 2e9 }),
    );
    writeFileSync(`${artifacts}memory.html`, await dashboardHtml([result]));
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(pathToFileURL(`${artifacts}memory.html`).href);
    await page.waitForSelector('body[data-ready="true"]');
    expect(problems).toEqual([]);
    const datasets = async (label: string): Promise<string[]> =>
      JSON.parse((await page.getAttribute(`canvas[aria-label="${label}"]`, 'data-datasets'))!).map(
        (d: { label: string }) => d.label,
      );
    const memory = await datasets('attention D=64: peak memory');
    expect(memory.length).toBeGreaterThanOrEqual(2);
    expect(memory.every((l) => !l.includes('onnxruntime-node'))).toBe(true);
    expect(
      (await datasets('attention D=64: GFLOP/s vs seqLen')).filter((l) =>
        l.startsWith('single-thread'),
      ),
    ).toEqual(['single-thread JavaScript peak (float64 multiply-add chains), run 1: 2.00 GFLOP/s']);
    await page.close();
  });

  it('runs a suite live in the page and adds it as a run', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    writeFileSync(`${artifacts}live.html`, await dashboardHtml([]));
    await page.goto(pathToFileURL(`${artifacts}live.html`).href);
    await page.waitForSelector('body[data-ready="true"]');
    // Without packages/kernels in the build, WebGPU cannot be chosen.
    expect(await page.locator('#live option[value="webgpu"]').isDisabled()).toBe(
      !existsSync(fileURLToPath(new URL('../../packages/kernels/src/index.ts', app))),
    );
    for (const box of await page.locator('#live input[name="suite"]').all()) {
      if ((await box.getAttribute('value')) !== 'softmax') await box.uncheck();
    }
    await page.click('#live button[type="submit"]');
    await page.waitForSelector('#live-download a', { timeout: 60_000 });
    expect(await page.locator('.run h3').allTextContents()).toEqual(['Run 1: browser-1']);
    expect(await page.locator('section.suite h2').allTextContents()).toEqual(['softmax']);
    const log = await page.locator('#live-log').textContent();
    expect(log).toMatch(/softmax qkv rows=7 cols=7 elements=49: median/);
    expect(log).toMatch(/peer onnxruntime-node skipped/);
    // The downloadable record is a valid result file made in the browser.
    const json = await page.evaluate(async () => {
      const link = document.querySelector<HTMLAnchorElement>('#live-download a')!;
      return (await fetch(link.href)).text();
    });
    const result = parseResult(json, 'browser-1.json');
    expect(result.environment.browser).toMatch(/Chrome/);
    expect(result.measurements.map((m) => [m.name, m.params.cols])).toEqual([
      ['qkv', 7],
      ['qkv', 65],
    ]);
    expect(problems).toEqual([]);
    await page.screenshot({ path: `${artifacts}live.png`, fullPage: true });
    await page.close();
  });

  it('shows why a file that is not a result was refused', async () => {
    const page = await browser.newPage();
    writeFileSync(`${artifacts}empty.html`, await dashboardHtml([]));
    await page.goto(pathToFileURL(`${artifacts}empty.html`).href);
    await page.waitForSelector('body[data-ready="true"]');
    await page.setInputFiles('#files', {
      name: 'other.json',
      mimeType: 'application/json',
      buffer: Buffer.from('{"hello": 1}'),
    });
    await expect(page.locator('#errors .error').textContent()).resolves.toMatch(
      /other.json: invalid result file/,
    );
    await page.close();
  });
});

describe('same-adapter WebGPU peers in the live run', () => {
  let browser: Browser;
  let server: StaticServer;
  beforeAll(async () => {
    browser = await launchBrowser({ webgpu: true });
    // Served, not opened from a file: onnxruntime-web fetches its wasm from `ort/`.
    const site = `${artifacts}site/`;
    await writeSite(site, []);
    server = await serveStatic(site);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("times onnxruntime-web's MultiHeadAttention and GroupQueryAttention beside qkv after checking agreement", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    // The server sends COOP / COEP (threads for @qkv/wasm): onnxruntime-web's files are
    // same-origin, so they load under require-corp.
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    for (const box of await page.locator('#live input[name="suite"]').all()) {
      if ((await box.getAttribute('value')) !== 'webgpu-attention') await box.uncheck();
    }
    await page.selectOption('#live select[name="device"]', 'webgpu');
    await page.click('#live button[type="submit"]');
    await page.waitForSelector('#live-download a', { timeout: 120_000 });
    const log = (await page.locator('#live-log').textContent())!;
    const json = await page.evaluate(async () => {
      const link = document.querySelector<HTMLAnchorElement>('#live-download a')!;
      return (await fetch(link.href)).text();
    });
    const result = parseResult(json, 'browser-1.json');
    expect(result.errors).toEqual([]);
    expect(result.environment.device.name).toMatch(/swiftshader/i);
    const ms = result.measurements.filter((m) => m.suite === 'webgpu-attention');
    const peers = ms.filter((m) => m.name === 'onnxruntime-web');
    const ours = ms.filter((m) => m.name === 'qkv');
    expect(peers.map((m) => m.params)).toEqual(ours.map((m) => m.params));
    expect(new Set(peers.map((m) => m.params.op))).toEqual(
      new Set(['MultiHeadAttention', 'GroupQueryAttention']),
    );
    // Each peer case was checked against qkv before it was timed, and the page says how.
    for (const m of peers) {
      expect(['agrees', 'disagrees']).toContain(m.config?.agreement);
      expect(m.config?.maxAbsDiff).toBeGreaterThanOrEqual(0);
      const verdict = m.config?.agreement === 'agrees' ? 'agree' : 'OUTPUTS DISAGREE';
      expect(log).toContain(
        `agreement ${m.params.op} heads=${m.params.heads} kvHeads=${m.params.kvHeads} headDim=${m.params.headDim} seqLen=${m.params.seqLen}: ${verdict === 'agree' ? 'qkv and onnxruntime-web agree' : verdict}`,
      );
    }
    const summary = await page
      .locator('#summary [data-suite="webgpu-attention"] li')
      .allTextContents();
    expect(summary[0]).toMatch(
      /^against onnxruntime-web: (OUTPUTS DISAGREE in \d of \d cases .*: )?qkv is ([\d.]+x (slower|faster)|as fast)/,
    );
    for (const op of ['MultiHeadAttention', 'GroupQueryAttention']) {
      const canvas = `canvas[aria-label="webgpu-attention ${op}: qkv against peers"]`;
      expect(await page.getAttribute(canvas, 'data-reference')).toBe('1');
      // The ratio of a peer that disagreed is marked as such on the chart too.
      const labels: string[] = JSON.parse((await page.getAttribute(canvas, 'data-datasets'))!).map(
        (d: { label: string }) => d.label,
      );
      const disagreed = peers.some(
        (m) => m.params.op === op && m.config?.agreement === 'disagrees',
      );
      expect(labels.some((l) => l.endsWith('(outputs disagree: reference only)'))).toBe(disagreed);
    }
    // The figures, for the record of what this adapter showed.
    console.log(`${summary.join('\n')}\n${log}`);
    expect(problems).toEqual([]);
    await page.screenshot({ path: `${artifacts}live-webgpu.png`, fullPage: true });
    await page.close();
  });
});
