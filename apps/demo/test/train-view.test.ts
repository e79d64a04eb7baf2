import { type Browser, type Page, type StaticServer, saveScreenshot } from '@qkv/browser';
import { cpu, liveTensors } from '@qkv/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../src/app/state.js';
import { InductionRun, type Measurement } from '../src/model/induction-run.js';
import { type MatrixStack, stackAt } from '../src/model/matrix.js';
import { characterTokens, trainedModel } from '../src/model/trained-model.js';
import { MEASURE_EVERY } from '../src/views/train-view.js';
import { expectAllClose } from './close.js';
import { expectModelGrid, rasterValues } from './model-grid.js';
import { appDir, buildSite, openExplorer } from './site.js';

// The Train view in headless Chromium (WebGPU on SwiftShader, and WebGPU disabled: the
// WebAssembly CPU device): a short run with a fixed seed, read back from the charts' and
// heatmaps' data attributes and compared with the same run in Node on the CPU reference
// backend (float64), which @qkv/train's induction experiment test runs to 400 steps.

/**
 * 30 steps instead of the view's 400 keep each run well under a minute on SwiftShader; the
 * heads have not specialised yet (that takes a few hundred steps, see
 * packages/train/src/induction-experiment.test.ts), but the probe loss has fallen by about
 * 0.2 nats, more than any float32 difference between the devices.
 */
const STEPS = 30;
const SEED = 1;
/**
 * Float32 on the page against float64 in Node, through 30 AdamW steps whose update
 * m / (√v + ε) magnifies rounding where a gradient is near zero: close, not equal.
 */
const ATOL = 2e-3;
const RTOL = 1e-2;

/**
 * The view's full run on the CPU path: at seed 1 the Node run of the same code on the
 * WebAssembly device has at step 0 / 250 / 400 a best layer-1 induction score of 0.04 / 0.23
 * / 0.66, a best layer-0 previous-token score of 0.10 / 0.18 / 0.48 and a repeated-half loss
 * of 3.72 / 3.00 / 1.08 nats. The thresholds are @qkv/train's induction experiment's, about
 * halfway, so they fail when the circuit does not form, not on float32 differences.
 */
const FULL_STEPS = 400;
const MIN_PREVIOUS_TOKEN = 0.25;
const MIN_INDUCTION = 0.3;

let site: StaticServer;
/** The Node run's measurements at steps 0, 10, 20, 30 and its attention on the sentence. */
let reference: Measurement[];
let sentenceAttention: MatrixStack[];

beforeAll(async () => {
  site = await buildSite('test-train');
  const before = liveTensors();
  const run = new InductionRun({ seed: SEED, device: cpu() });
  reference = [await run.measure()];
  while (run.step < STEPS) {
    await run.train(MEASURE_EVERY);
    reference.push(await run.measure());
  }
  const model = trainedModel({
    config: run.config,
    params: run.snapshot(),
    device: run.device,
    deviceName: 'CPU',
    step: run.step,
    seed: SEED,
  });
  const ids = characterTokens(DEFAULT_SETTINGS.text, run.config.contextLength).map((t) => t.id);
  sentenceAttention = await model.attentions(ids);
  model.dispose();
  run.dispose();
  expect(liveTensors()).toBe(before);
}, 180_000);

afterAll(async () => {
  await site?.close();
});

async function series(page: Page, chart: string, label: string): Promise<number[]> {
  return page.$$eval(`svg[data-name="${chart}"] circle[data-series="${label}"]`, (els) =>
    els.map((e) => Number(e.getAttribute('data-y'))),
  );
}

for (const webgpu of [true, false]) {
  describe(`train view with WebGPU ${webgpu ? 'on SwiftShader' : 'disabled'}`, () => {
    let browser: Browser;
    let page: Page;
    let problems: string[] = [];
    const shot = (name: string) =>
      saveScreenshot(page, appDir, `${webgpu ? 'webgpu' : 'cpu'}-${name}`);

    beforeAll(async () => {
      ({ browser, page, problems } = await openExplorer(webgpu, site.url));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
    });

    it('trains with a fixed seed: the loss falls, and the charts and heatmaps are the library values', async () => {
      await page.click('nav button[data-view="train"]');
      await page.waitForSelector('main[data-ready="train"]');
      expect(await page.textContent('[data-testid="train-device"]')).toMatch(
        webgpu ? /^Training runs on WebGPU: / : /^Training runs on the CPU \(WebAssembly SIMD/,
      );
      await page.fill('#train-steps', String(STEPS));
      await page.fill('#train-seed', String(SEED));
      await page.click('#train-start');
      await page.waitForSelector(`[data-testid="train"][data-state="done"][data-step="${STEPS}"]`, {
        timeout: 90_000,
      });
      const loss = await series(page, 'train-loss', 'all positions');
      const repeated = await series(page, 'train-loss', 'repeated half');
      expect(loss.length).toBe(STEPS / MEASURE_EVERY + 1);
      expect(loss.at(-1)!).toBeLessThan(loss[0]! - 0.1);
      expect(repeated.at(-1)!).toBeLessThan(repeated[0]! - 0.1);
      expectAllClose(
        loss,
        reference.map((m) => m.loss),
        'probe loss',
        ATOL,
        RTOL,
      );
      expectAllClose(
        repeated,
        reference.map((m) => m.repeatedLoss),
        'repeated-half loss',
        ATOL,
        RTOL,
      );
      for (const [chart, score] of [
        ['train-previous-token', 'previousToken'],
        ['train-induction', 'induction'],
      ] as const) {
        for (let l = 0; l < 2; l++) {
          for (let k = 0; k < 4; k++) {
            const shown = await series(page, chart, `layer ${l} head ${k}`);
            const want = reference.map((m) => m[score][l]![k]!);
            expectAllClose(shown, want, `${score} layer ${l} head ${k}`, ATOL, RTOL);
          }
        }
      }
      const last = reference.at(-1)!;
      for (let l = 0; l < 2; l++) {
        for (let k = 0; k < 4; k++) {
          const cells = await rasterValues(page, `train-attention-${l}-${k}`);
          expectAllClose(
            cells,
            stackAt(last.patterns[l]!, k).data,
            `heatmap ${l}.${k}`,
            ATOL,
            RTOL,
          );
        }
      }
      await shot('train-view');
    }, 120_000);

    it('never scrolls sideways in a 390 px wide window', async () => {
      const narrow = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await narrow.goto(`${site.url}?webgpu=${webgpu ? '1' : '0'}`);
      await narrow.click('nav button[data-view="train"]');
      await narrow.waitForSelector('main[data-ready="train"] svg[data-name="train-induction"]');
      expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        390,
      );
      await saveScreenshot(narrow, appDir, `${webgpu ? 'webgpu' : 'cpu'}-narrow-train`);
      await narrow.close();
    });

    it('puts the trained model in the model view', async () => {
      await page.click('#train-use');
      expect(await page.textContent('[data-testid="weights"]')).toContain(
        `trained here, seed ${SEED}, step ${STEPS}`,
      );
      await page.click('nav button[data-view="model"]');
      await page.waitForSelector('main[data-ready="model"]');
      expect(await page.locator('[data-testid="random-banner"]').count()).toBe(0);
      await expectModelGrid(page, sentenceAttention, ATOL, RTOL);
      await shot('train-model-view');
      for (const view of ['heads', 'next']) {
        await page.click(`nav button[data-view="${view}"]`);
        await page.waitForSelector(`main[data-ready="${view}"]`);
        expect(await page.textContent('[data-testid="model-label"]')).toContain('trained here');
        await shot(`train-${view}-view`);
      }
      expect(problems).toEqual([]);
    }, 60_000);

    // 400 steps take about 10 s on the page's WebAssembly device and over 4 minutes on
    // SwiftShader (0.6 s a step), so the phase change is checked on the CPU path only.
    if (!webgpu) {
      it('forms previous-token heads in layer 0 and induction heads in layer 1 in the full run', async () => {
        await page.click('nav button[data-view="train"]');
        await page.waitForSelector('main[data-ready="train"]');
        await page.fill('#train-steps', String(FULL_STEPS));
        await page.click('#train-start');
        await page.waitForSelector(
          `[data-testid="train"][data-state="done"][data-step="${FULL_STEPS}"]`,
          { timeout: 120_000 },
        );
        const best = async (chart: string, l: number) => {
          const last = [];
          for (let k = 0; k < 4; k++)
            last.push((await series(page, chart, `layer ${l} head ${k}`)).at(-1)!);
          return Math.max(...last);
        };
        expect(await best('train-previous-token', 0)).toBeGreaterThan(MIN_PREVIOUS_TOKEN);
        expect(await best('train-induction', 1)).toBeGreaterThan(MIN_INDUCTION);
        const repeated = await series(page, 'train-loss', 'repeated half');
        expect(repeated.length).toBe(FULL_STEPS / MEASURE_EVERY + 1);
        expect(repeated.at(-1)!).toBeLessThan(repeated[0]! - 1);
        await shot('train-view-full');
        // The trained model's induction head, found by the model view's own probe.
        await page.click('#train-use');
        await page.click('nav button[data-view="model"]');
        await page.waitForSelector('main[data-ready="model"]');
        await page.click('[data-testid="find-induction"]');
        await page.waitForSelector('[data-testid="induction-status"][data-done]');
        // The table is ranked: rank, layer, head, …, induction.
        const rows = await page.$$eval('[data-testid="roles-table"] tr:has(td.induction)', (trs) =>
          trs.map((tr) => ({
            layer: Number(tr.querySelectorAll('td')[1]?.textContent),
            induction: Number(tr.querySelector('td.induction')?.getAttribute('data-value')),
          })),
        );
        expect(rows[0]!.layer).toBe(1);
        expect(rows[0]!.induction).toBeGreaterThan(MIN_INDUCTION);
        await shot('train-model-view-full');
        // It continues a repeat: after the second "jumpy fo" comes what followed the first.
        await page.fill('#sentence', 'jumpy fox quiz jumpy fo');
        await page.press('#sentence', 'Enter');
        await page.click('nav button[data-view="next"]');
        await page.waitForSelector('main[data-ready="next"]');
        await page.fill('#new-tokens', '12');
        await page.click('#generate');
        await page.waitForSelector('[data-testid="generated"][data-ids]');
        // 'x' (id 23) comes first with probability 0.80 at seed 1; 0.5 leaves room for
        // rounding while failing a model that does not copy.
        const top = await page.$eval('[data-testid="next-table"] tr[data-id]', (tr) => ({
          id: Number(tr.getAttribute('data-id')),
          p: Number(tr.querySelector('td.weight')?.getAttribute('data-value')),
        }));
        expect(top.id).toBe(23);
        expect(top.p).toBeGreaterThan(0.5);
        expect(
          (await page.getAttribute('[data-testid="generated"]', 'data-ids'))!.split(','),
        ).toHaveLength(12);
        await shot('train-next-view-full');
        expect(problems).toEqual([]);
      }, 150_000);
    }
  });
}
