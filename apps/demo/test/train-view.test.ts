import type { Page, StaticServer } from '@qkv/browser';
import { cpu, liveTensors } from '@qkv/tensor';
import {
  INDUCTION_CONFIG,
  INDUCTION_FORMED,
  INDUCTION_TRAINING,
  InductionRun,
  type Measurement,
} from '@qkv/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../src/app/state.js';
import { type MatrixStack, stackAt } from '../src/model/matrix.js';
import { characterTokens, trainedModel } from '../src/model/trained-model.js';
import { MEASURE_EVERY } from '../src/views/train-view.js';
import { expectAllClose } from './close.js';
import { expectModelGrid, rasterValues } from './model-grid.js';
import { buildSite, useExplorer } from './site.js';

// The Train view in headless Chromium (WebGPU on SwiftShader, and WebGPU disabled: the
// WebAssembly CPU device): a short run with a fixed seed, read back from the charts' and
// heatmaps' data attributes and compared with the same run in Node on the CPU reference
// backend (float64). @qkv/train's induction experiment test trains the same model to 400 steps.

/**
 * 30 steps instead of the view's 400 keep the run on SwiftShader near a minute (about 2 s a
 * step at d_model 64, context 64); the heads have not specialised yet (that takes 250-300
 * steps, see packages/train/src/induction-experiment.test.ts), but the probe loss has fallen
 * by about 0.4 nats, more than any float32 difference between the devices.
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
 * The view's full run on the CPU path: at seed 1 the Node run of the same model on the
 * WebAssembly device has at step 0 / 250 / 400 a best layer-1 induction score of 0.02 / 0.28
 * / 0.56, a best layer-0 previous-token score of 0.06 / 0.22 / 0.36 and a repeated-half loss
 * of 4.69 / 3.35 / 1.91 nats. The thresholds are `INDUCTION_FORMED`, measured over five
 * seeds in @qkv/train's test, so they fail when the circuit does not form, not on float32
 * differences.
 */
const FULL_STEPS = INDUCTION_TRAINING.steps;
const { previousToken: MIN_PREVIOUS_TOKEN, induction: MIN_INDUCTION } = INDUCTION_FORMED;
const { numLayers, numHeads } = INDUCTION_CONFIG;

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
    const ui = useExplorer(webgpu, () => site.url);

    it('trains with a fixed seed: the loss falls, and the charts and heatmaps are the library values', async () => {
      await ui.page.click('nav button[data-view="train"]');
      await ui.page.waitForSelector('main[data-ready="train"]');
      expect(await ui.page.textContent('[data-testid="train-device"]')).toMatch(
        webgpu ? /^Training runs on WebGPU: / : /^Training runs on the CPU \(WebAssembly SIMD/,
      );
      await ui.page.fill('#train-steps', String(STEPS));
      await ui.page.fill('#train-seed', String(SEED));
      await ui.page.click('#train-start');
      await ui.page.waitForSelector(
        `[data-testid="train"][data-state="done"][data-step="${STEPS}"]`,
        {
          timeout: 300_000,
        },
      );
      const loss = await series(ui.page, 'train-loss', 'all positions');
      const repeated = await series(ui.page, 'train-loss', 'repeated half');
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
        for (let l = 0; l < numLayers; l++) {
          for (let k = 0; k < numHeads; k++) {
            const shown = await series(ui.page, chart, `layer ${l} head ${k}`);
            const want = reference.map((m) => m[score][l]![k]!);
            expectAllClose(shown, want, `${score} layer ${l} head ${k}`, ATOL, RTOL);
          }
        }
      }
      const last = reference.at(-1)!;
      for (let l = 0; l < numLayers; l++) {
        for (let k = 0; k < numHeads; k++) {
          const cells = await rasterValues(ui.page, `train-attention-${l}-${k}`);
          expectAllClose(
            cells,
            stackAt(last.patterns[l]!, k).data,
            `heatmap ${l}.${k}`,
            ATOL,
            RTOL,
          );
        }
      }
      await ui.shot('train-view');
    }, 360_000);

    it('never scrolls sideways in a 390 px wide window', async () => {
      const narrow = await ui.narrowPage();
      await narrow.click('nav button[data-view="train"]');
      await narrow.waitForSelector('main[data-ready="train"] svg[data-name="train-induction"]');
      expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        390,
      );
      await ui.shot('narrow-train', narrow);
      await narrow.close();
    });

    it('puts the trained model in the model view', async () => {
      await ui.page.click('#train-use');
      expect(await ui.page.textContent('[data-testid="weights"]')).toContain(
        `trained here, seed ${SEED}, step ${STEPS}`,
      );
      await ui.page.click('nav button[data-view="model"]');
      await ui.page.waitForSelector('main[data-ready="model"]');
      expect(await ui.page.locator('[data-testid="random-banner"]').count()).toBe(0);
      await expectModelGrid(ui.page, sentenceAttention, ATOL, RTOL);
      await ui.shot('train-model-view');
      for (const view of ['heads', 'next']) {
        await ui.page.click(`nav button[data-view="${view}"]`);
        await ui.page.waitForSelector(`main[data-ready="${view}"]`);
        expect(await ui.page.textContent('[data-testid="model-label"]')).toContain('trained here');
        await ui.shot(`train-${view}-view`);
      }
      expect(ui.problems).toEqual([]);
    }, 60_000);

    // 400 steps take under a minute on the page's WebAssembly device (90-125 ms a step, the
    // induction score passing its threshold at step 250 after about 36 s) and over 13 minutes
    // on SwiftShader (about 2 s a step), so the phase change is checked on the CPU path only.
    if (!webgpu) {
      it('forms previous-token heads in layer 0 and induction heads in layer 1 in the full run', async () => {
        await ui.page.click('nav button[data-view="train"]');
        await ui.page.waitForSelector('main[data-ready="train"]');
        await ui.page.fill('#train-steps', String(FULL_STEPS));
        await ui.page.click('#train-start');
        await ui.page.waitForSelector(
          `[data-testid="train"][data-state="done"][data-step="${FULL_STEPS}"]`,
          { timeout: 400_000 },
        );
        // Per measurement, the best head's score in layer l.
        const best = async (chart: string, l: number) => {
          const heads: number[][] = [];
          for (let k = 0; k < numHeads; k++)
            heads.push(await series(ui.page, chart, `layer ${l} head ${k}`));
          return heads[0]!.map((_, i) => Math.max(...heads.map((h) => h[i]!)));
        };
        expect((await best('train-previous-token', 0)).at(-1)).toBeGreaterThan(MIN_PREVIOUS_TOKEN);
        const induction = await best('train-induction', 1);
        expect(induction.at(-1)).toBeGreaterThan(MIN_INDUCTION);
        // The note on the phase change names the first measured step past the threshold.
        const formed = induction.findIndex((score) => score > MIN_INDUCTION) * MEASURE_EVERY;
        expect(await ui.page.getAttribute('[data-testid="train"]', 'data-formed-step')).toBe(
          String(formed),
        );
        expect(await ui.page.textContent('[data-testid="train-formed"]')).toContain(
          `passed ${MIN_INDUCTION} at step ${formed},`,
        );
        const repeated = await series(ui.page, 'train-loss', 'repeated half');
        expect(repeated.length).toBe(FULL_STEPS / MEASURE_EVERY + 1);
        expect(repeated.at(-1)!).toBeLessThan(repeated[0]! - 1);
        await ui.shot('train-view-full');
        // The trained model's induction head, found by the model view's own probe.
        await ui.page.click('#train-use');
        await ui.page.click('nav button[data-view="model"]');
        await ui.page.waitForSelector('main[data-ready="model"]');
        await ui.page.click('[data-testid="find-induction"]');
        await ui.page.waitForSelector('[data-testid="induction-status"][data-done]');
        // The table is ranked: rank, layer, head, …, induction.
        const rows = await ui.page.$$eval(
          '[data-testid="roles-table"] tr:has(td.induction)',
          (trs) =>
            trs.map((tr) => ({
              layer: Number(tr.querySelectorAll('td')[1]?.textContent),
              induction: Number(tr.querySelector('td.induction')?.getAttribute('data-value')),
            })),
        );
        expect(rows[0]!.layer).toBe(1);
        expect(rows[0]!.induction).toBeGreaterThan(MIN_INDUCTION);
        await ui.shot('train-model-view-full');
        // It continues a repeat: after the second "jumpy fo" comes what followed the first.
        await ui.page.fill('#sentence', 'jumpy fox quiz jumpy fo');
        await ui.page.press('#sentence', 'Enter');
        await ui.page.click('nav button[data-view="next"]');
        await ui.page.waitForSelector('main[data-ready="next"]');
        await ui.page.fill('#new-tokens', '12');
        await ui.page.click('#generate');
        await ui.page.waitForSelector('[data-testid="generated"][data-ids]');
        // 'x' (id 23) comes first with probability 0.91 at seed 1; 0.5 leaves room for
        // rounding while failing a model that does not copy.
        const top = await ui.page.$eval('[data-testid="next-table"] tr[data-id]', (tr) => ({
          id: Number(tr.getAttribute('data-id')),
          p: Number(tr.querySelector('td.weight')?.getAttribute('data-value')),
        }));
        expect(top.id).toBe(23);
        expect(top.p).toBeGreaterThan(0.5);
        expect(
          (await ui.page.getAttribute('[data-testid="generated"]', 'data-ids'))!.split(','),
        ).toHaveLength(12);
        await ui.shot('train-next-view-full');
        expect(ui.problems).toEqual([]);
      }, 480_000);
    }
  });
}
