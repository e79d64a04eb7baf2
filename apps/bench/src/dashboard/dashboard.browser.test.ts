import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, launchBrowser } from '@qkv/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMeasurement } from '../context.js';
import { parseResult } from '../result.js';
import { dashboardHtml } from './build.js';

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

    // Per suite: time (log-log), throughput, peers over qkv where it has peers, run b over run a.
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
    const perSuite = await page.$$eval('section.suite', (sections) =>
      sections.map((s) => s.querySelectorAll('canvas').length),
    );
    const withPeers = ['matmul', 'softmax', 'attention', 'sparse', 'tokenizer'];
    expect(perSuite).toEqual(suites.map((s) => (withPeers.includes(s) ? 4 : 3)));
    const charts = perSuite.reduce((a, c) => a + c, 0);
    expect(await page.getAttribute('body', 'data-charts')).toBe(String(charts));
    expect(await page.locator('.run h3').allTextContents()).toEqual([
      'Run 1: cpu-run-a',
      'Run 2: cpu-run-b',
    ]);
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
    const datasets = async (label: string) =>
      JSON.parse((await page.getAttribute(`canvas[aria-label="${label}"]`, 'data-datasets'))!);
    // Each line's legend carries its fitted log-log slope.
    const timeLines: string[] = await datasets('matmul: median time vs n');
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
    const rates: string[] = await datasets('matmul: TFLOP/s');
    // The committed runs include the peak suite: its measurement is each run's ceiling.
    expect(rates.filter((l) => l.startsWith('measured peak, run'))).toHaveLength(2);
    expect(await datasets('softmax: peers')).toEqual([
      'onnxruntime-node',
      'onnxruntime-node (run 2)',
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
      toMeasurement('peak', 'fma-chains', { backend: 'cpu', threads: 1 }, [1], { flops: 2e9 }),
    );
    writeFileSync(`${artifacts}memory.html`, await dashboardHtml([result]));
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(pathToFileURL(`${artifacts}memory.html`).href);
    await page.waitForSelector('body[data-ready="true"]');
    expect(problems).toEqual([]);
    const datasets = async (label: string): Promise<string[]> =>
      JSON.parse((await page.getAttribute(`canvas[aria-label="${label}"]`, 'data-datasets'))!);
    const memory = await datasets('attention: peak memory');
    expect(memory.length).toBeGreaterThanOrEqual(2);
    expect(memory.every((l) => !l.includes('onnxruntime-node'))).toBe(true);
    expect(
      (await datasets('attention: TFLOP/s')).filter((l) => l.startsWith('measured peak')),
    ).toEqual(['measured peak, run 1: peak fma-chains backend=cpu threads=1']);
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
    expect(log).toMatch(/softmax qkv rows=7 cols=7: median/);
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
