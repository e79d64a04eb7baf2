import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MultiHeadAttention } from '@qkv/attention';
import type { Page, StaticServer } from '@qkv/browser';
import { alibiBias, ropeInvFreq } from '@qkv/positional';
import { concat, randn, saveSafetensors, softmax, tensor } from '@qkv/tensor';
import { getEncoding } from '@qkv/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse } from '../src/app/analyse.js';
import { DEFAULT_SETTINGS, type Settings } from '../src/app/state.js';
import { embedTokens } from '../src/model/embeddings.js';
import { previousTokenScores } from '../src/model/head-roles.js';
import { PATTERN_NAMES, pairShare, patternMask } from '../src/model/masks.js';
import { stackAt } from '../src/model/matrix.js';
import {
  disposeProjections,
  type Projections,
  projectionsFromSafetensors,
  randomProjections,
} from '../src/model/weights.js';
import { expectAllClose } from './close.js';
import { buildSite, useExplorer } from './site.js';

// The built explorer in headless Chromium, once with WebGPU on SwiftShader and once with
// WebGPU disabled. Values on the page are read back from data-value attributes and checked
// against the library computing the same thing in Node.

const SENTENCE = 'The animal did not cross the street because it was too tired';

let site: StaticServer;

beforeAll(async () => {
  site = await buildSite('test-explorer');
}, 120_000);

afterAll(async () => {
  await site?.close();
});

/** The layer the page should show for these settings, computed in Node. */
async function expected(change: Partial<Settings>, weights?: () => Projections) {
  const settings = { ...DEFAULT_SETTINGS, ...change };
  const projections = weights ? weights() : randomProjections(settings.dModel, settings.seed);
  try {
    return await analyse(settings, projections);
  } finally {
    disposeProjections(projections);
  }
}

/**
 * Per-head weights `[H, L, S]` from @qkv/attention's MultiHeadAttention (PyTorch's module)
 * holding the page's seeded projections: an independent reference for the heatmaps.
 */
async function mhaWeights(change: Partial<Settings>): Promise<Float32Array> {
  const settings = { ...DEFAULT_SETTINGS, ...change };
  const tokens = await tokenizeFor(settings.text, settings.encoding);
  const keyTokens =
    settings.mode === 'cross' ? await tokenizeFor(settings.crossText, settings.encoding) : tokens;
  const p = randomProjections(settings.dModel, settings.seed);
  const mha = new MultiHeadAttention({
    embedDim: settings.dModel,
    numHeads: settings.numHeads,
    bias: false,
  });
  const inProj = concat([p.wq, p.wk, p.wv], 0);
  const d = settings.dModel;
  const outProj = tensor(
    Array.from({ length: d * d }, (_, f) => (f % (d + 1) === 0 ? 1 : 0)),
    [d, d],
  );
  mha.loadStateDict({ in_proj_weight: inProj, 'out_proj.weight': outProj });
  const x = embedTokens(tokens, settings.dModel, settings.seed);
  const memory = embedTokens(keyTokens, settings.dModel, settings.seed);
  const { output, weights } = mha.forward(x, memory, memory, { averageAttnWeights: false });
  const data = Float32Array.from(weights!.dataSync() as Float32Array);
  for (const t of [inProj, outProj, x, memory, output, weights!]) t.dispose();
  mha.dispose();
  disposeProjections(p);
  return data;
}

async function tokenizeFor(text: string, encoding: string): Promise<number[]> {
  return (await getEncoding(encoding)).encode(text);
}

async function values(page: Page, selector: string): Promise<number[]> {
  return page.$$eval(selector, (els) => els.map((e) => Number(e.getAttribute('data-value'))));
}

async function openView(page: Page, view: string): Promise<void> {
  await page.click(`nav button[data-view="${view}"]`);
  await page.waitForSelector(`main[data-ready="${view}"]`);
}

for (const webgpu of [true, false]) {
  describe(`explorer with WebGPU ${webgpu ? 'on SwiftShader' : 'disabled'}`, () => {
    const ui = useExplorer(webgpu, () => site.url);

    it('says whether WebGPU is there', async () => {
      const badge = ui.page.locator('[data-testid="device"]');
      expect(await badge.getAttribute('data-webgpu')).toBe(String(webgpu));
      expect(await badge.textContent()).toMatch(
        webgpu
          ? /^WebGPU: /
          : /^No WebGPU \(.+\): everything runs on the CPU \(WebAssembly SIMD, \d+ threads?\)\.$/,
      );
      // Without WebGPU the fast CPU device of @qkv/wasm computes the views, models and timings.
      expect(await badge.getAttribute('data-backend')).toBe(webgpu ? null : 'wasm');
    });

    it('is cross-origin isolated (COOP / COEP), so SharedArrayBuffer is there', async () => {
      expect(await ui.page.evaluate(() => [crossOriginIsolated, typeof SharedArrayBuffer])).toEqual(
        [true, 'function'],
      );
    });

    async function tokenRows(): Promise<number[][]> {
      return ui.page.$$eval('[data-testid="token-table"] tr[data-id]', (trs) =>
        trs.map((tr) =>
          ['data-id', 'data-start', 'data-end'].map((a) => Number(tr.getAttribute(a))),
        ),
      );
    }

    it('tokenizes a typed sentence with the ids and offsets of @qkv/tokenizer', async () => {
      await ui.page.fill('#sentence', SENTENCE);
      await ui.page.press('#sentence', 'Enter');
      const enc = await getEncoding(DEFAULT_SETTINGS.encoding);
      const want = enc.encodeWithOffsets(SENTENCE).map((t) => [t.id, t.start, t.end]);
      await ui.page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid="token-table"] tr[data-id]').length === n,
        want.length,
      );
      expect(await tokenRows()).toEqual(want);
      await ui.shot('tokens');
    });

    it('switches encodings', async () => {
      await ui.page.selectOption('#encoding', 'o200k_base');
      await ui.page.waitForSelector('main[data-ready="tokens"]');
      const o200k = await getEncoding('o200k_base');
      const want = o200k.encodeWithOffsets(SENTENCE).map((t) => [t.id, t.start, t.end]);
      await ui.page.waitForFunction(
        (first) =>
          document
            .querySelector('[data-testid="token-table"] tr[data-id]')
            ?.getAttribute('data-id') === String(first),
        want[0]![0],
      );
      expect(await tokenRows()).toEqual(want);
      await ui.page.selectOption('#encoding', DEFAULT_SETTINGS.encoding);
      await ui.page.waitForSelector('main[data-ready="tokens"]');
    });

    it('shows one query searching the keys: scores and softmax match the library', async () => {
      await openView(ui.page, 'search');
      await ui.page.click('button.tok-button[data-token="7"]');
      await ui.page.waitForSelector('[data-testid="search-table"][data-query="7"]');
      const scores = await values(ui.page, '[data-testid="search-table"] td.score');
      const weights = await values(ui.page, '[data-testid="search-table"] td.weight');
      const want = await expected({ text: SENTENCE });
      const head = stackAt(want.layer.scores, 0);
      expect(scores).toHaveLength(want.keyTokens.length);
      expectAllClose(scores, head.data.subarray(7 * head.cols, 8 * head.cols), 'scores of query 7');
      const ref = softmax(tensor(scores));
      const refWeights = ref.dataSync();
      ref.dispose();
      expectAllClose(weights, refWeights, 'softmax of the shown scores');
      await ui.shot('search');
      for (const positions of ['rope', 'alibi', 'sinusoidal'] as const) {
        await ui.page.selectOption('#positions', positions);
        await ui.page.waitForSelector('main[data-ready="search"]');
        const shownScores = await values(ui.page, '[data-testid="search-table"] td.score');
        const ref = await expected({ text: SENTENCE, positions });
        const row = stackAt(ref.layer.scores, 0);
        expectAllClose(
          shownScores,
          row.data.subarray(7 * row.cols, 8 * row.cols),
          `${positions} scores`,
        );
        const shownWeights = await values(ui.page, '[data-testid="search-table"] td.weight');
        const soft = softmax(tensor(shownScores));
        expectAllClose(shownWeights, soft.dataSync(), `${positions} softmax`);
        soft.dispose();
      }
      await ui.page.selectOption('#positions', 'none');
      await ui.page.waitForSelector('main[data-ready="search"]');
    });

    it('draws a heatmap per head with the caveat, for self- and cross-attention', async () => {
      await openView(ui.page, 'heads');
      expect(await ui.page.locator('[data-testid="random-banner"]').textContent()).toBe(
        'untrained random weights: these patterns are chance',
      );
      expect(await ui.page.locator('main h2').first().textContent()).toMatch(/4 heads × d_head 8/);
      expect(await ui.page.locator('[data-testid="caveat"]').textContent()).toMatch(
        /approximation, not an explanation/,
      );
      const want = await mhaWeights({ text: SENTENCE });
      const perHead = want.length / DEFAULT_SETTINGS.numHeads;
      for (let k = 0; k < DEFAULT_SETTINGS.numHeads; k++) {
        const shown = await values(ui.page, `svg[data-name="weights-head-${k}"] rect`);
        expectAllClose(shown, want.subarray(k * perHead, (k + 1) * perHead), `head ${k} weights`);
      }
      await ui.shot('heads-self');
      await ui.page.check('[data-testid="mode-cross"]');
      await ui.page.waitForSelector('#cross-text');
      const cross = await expected({ text: SENTENCE, mode: 'cross' });
      const map = ui.page.locator('svg[data-name="weights-head-0"]');
      expect(Number(await map.getAttribute('data-cols'))).toBe(cross.keyTokens.length);
      const shown = await values(ui.page, 'svg[data-name="weights-head-0"] rect');
      const ref = stackAt(cross.layer.weights, 0).data;
      expectAllClose(shown, ref, 'cross-attention head 0 weights');
      await ui.shot('heads-cross');
      await ui.page.check('[data-testid="mode-self"]');
      await ui.page.waitForSelector('main[data-ready="heads"]');
    });

    it('draws every mask with its share of pairs and times attention on the right device', async () => {
      await openView(ui.page, 'masks');
      for (const name of PATTERN_NAMES) {
        const share = Number(
          await ui.page.locator(`figure[data-pattern="${name}"]`).getAttribute('data-share'),
        );
        expect(share).toBeCloseTo(
          pairShare(patternMask(name, 24, { seed: DEFAULT_SETTINGS.seed })),
          12,
        );
      }
      const status = ui.page.locator('[data-testid="timing-status"]');
      await ui.page.waitForSelector('[data-testid="timing-status"][data-done]', {
        timeout: 60_000,
      });
      await ui.page.waitForSelector('[data-testid="sparse-status"][data-done]', {
        timeout: 60_000,
      });
      expect(await status.getAttribute('class')).not.toContain('error');
      expect(await status.textContent()).toMatch(/^Measured on /);
      expect(await status.getAttribute('data-device')).toBe(webgpu ? 'webgpu' : 'wasm');
      if (!webgpu) {
        // Timed in a Web Worker, which may block on its threads: one per core, up to 8.
        const cores = await ui.page.evaluate(() => navigator.hardwareConcurrency);
        const threads = Math.min(8, cores);
        expect(await status.textContent()).toMatch(
          `Measured on CPU (WebAssembly SIMD, ${threads} thread${threads === 1 ? '' : 's'} in a Web Worker); no WebGPU: `,
        );
      }
      for (const id of ['timing', 'sparse']) {
        const times = await ui.page.$$eval(`[data-testid="${id}-table"] td[data-ms]`, (tds) =>
          tds.map((td) => Number(td.getAttribute('data-ms'))),
        );
        expect(times.length).toBeGreaterThan(0);
        for (const t of times) expect(t).toBeGreaterThan(0);
      }
      expect(await ui.page.getAttribute('[data-testid="sparse-status"]', 'data-path')).toBe(
        'block-sparse',
      );
      // Block-sparse attention computes every pair of a dense mask and fewer of a sliding window.
      const scored = async (pattern: string) =>
        Number(
          await ui.page.getAttribute(
            `[data-testid="sparse-table"] tr[data-pattern="${pattern}"] td[data-scored]`,
            'data-scored',
          ),
        );
      expect(await scored('dense')).toBe(1);
      expect(await scored('sliding window')).toBeLessThan(0.25);
      await ui.shot('masks');
    });

    it('shows positions: sinusoidal table, RoPE pair, ALiBi bias and score vs distance', async () => {
      await openView(ui.page, 'positions');
      const theta = Number(
        await ui.page.locator('[data-testid="rope-theta"]').getAttribute('data-value'),
      );
      expect(theta).toBeCloseTo(ropeInvFreq({ headDim: 32 }).invFreq[DEFAULT_SETTINGS.pair]!, 12);
      await ui.page.locator('#rope-pair').fill('5');
      await ui.page.locator('#rope-pair').dispatchEvent('change');
      await ui.page.waitForFunction(
        (want) =>
          Number(
            document.querySelector('[data-testid="rope-theta"]')?.getAttribute('data-value'),
          ) === want,
        ropeInvFreq({ headDim: 32 }).invFreq[5]!,
      );
      // On the learner's sentence, bidirectional while "causal" is off (the default).
      const n = (await expected({ text: SENTENCE })).tokens.length;
      const bias = alibiBias(DEFAULT_SETTINGS.numHeads, n, n);
      const head0 = bias.dataSync().slice(0, n * n);
      bias.dispose();
      expectAllClose(await values(ui.page, 'svg[data-name="alibi"] rect'), head0, 'ALiBi head 0');
      expect(await ui.page.locator('[data-testid="alibi-slopes"]').textContent()).toMatch(
        /head 0: 0\.2500.*Head 0 adds −0\.2500·\|i − j\|.*bidirectional/,
      );
      expect(await ui.page.locator('svg[data-name="sinusoidal"] rect').count()).toBe(n * 32);
      expect(await ui.page.locator('svg[data-name="distance"] circle').count()).toBe(4 * 41);
      await ui.shot('positions');
      // The view follows "Positions" and "causal" at the top: ALiBi first, in its causal form.
      await ui.page.selectOption('#positions', 'alibi');
      await ui.page.check('#causal');
      await ui.page.waitForSelector('[data-testid="positions-chosen"][data-scheme="alibi"]');
      await ui.page.waitForSelector('main[data-ready="positions"]');
      expect(
        await ui.page.locator('details[data-scheme]').first().getAttribute('data-scheme'),
      ).toBe('alibi');
      expect(await ui.page.locator('[data-testid="alibi-slopes"]').textContent()).toMatch(
        /Head 0 adds −0\.2500·\(i − j\).*j ≤ i/,
      );
      const causalBias = alibiBias(DEFAULT_SETTINGS.numHeads, n, n);
      const causalHead0 = Array.from(causalBias.dataSync().slice(0, n * n), (v, f) =>
        f % n > Math.floor(f / n) ? Number.NEGATIVE_INFINITY : v,
      );
      causalBias.dispose();
      expectAllClose(
        await values(ui.page, 'svg[data-name="alibi"] rect'),
        causalHead0,
        'causal ALiBi head 0',
      );
      await ui.shot('positions-alibi-causal');
      await ui.page.uncheck('#causal');
      await ui.page.selectOption('#positions', 'none');
      await ui.page.waitForSelector('[data-testid="positions-chosen"][data-scheme="none"]');
    });

    it('keeps the first click on a tab right after editing the sentence', async () => {
      await openView(ui.page, 'tokens');
      const edited = `${SENTENCE} again`;
      // No Enter: the edit ends when the tab's mousedown takes the focus, and its change
      // event redraws the page between that mousedown and the mouseup.
      await ui.page.fill('#sentence', edited);
      await ui.page.click('nav button[data-view="search"]');
      await ui.page.waitForSelector('main[data-ready="search"]', { timeout: 5_000 });
      expect(await ui.page.getAttribute('nav button[data-view="search"]', 'class')).toContain(
        'active',
      );
      const want = await expected({ text: edited });
      expect(await ui.page.locator('button.tok-button').count()).toBe(want.tokens.length);
      await ui.page.fill('#sentence', SENTENCE);
      await ui.page.click('nav button[data-view="heads"]');
      await ui.page.waitForSelector('main[data-ready="heads"]', { timeout: 5_000 });
    });

    it('shows which bytes each piece of a split emoji holds', async () => {
      await openView(ui.page, 'tokens');
      const text = 'llama 🦙 time';
      await ui.page.fill('#sentence', text);
      await ui.page.press('#sentence', 'Enter');
      await ui.page.waitForSelector('td.hex.partial');
      const enc = await getEncoding(DEFAULT_SETTINGS.encoding);
      const want = enc
        .encode(text)
        .map((id) =>
          Array.from(enc.tokenBytes(id), (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(
            ' ',
          ),
        );
      const shown = await ui.page.$$eval('[data-testid="token-table"] td.hex', (tds) =>
        tds.map((td) => td.getAttribute('data-bytes')),
      );
      expect(shown).toEqual(want);
      // The emoji is F0 9F A6 99; the pieces that hold part of it are marked and labelled.
      expect(want.join(' ')).toContain('F0 9F A6 99');
      expect(await ui.page.locator('td.hex.partial').count()).toBeGreaterThan(1);
      expect(await ui.page.locator('.tok.bytes .byte-hex').count()).toBeGreaterThan(1);
      await ui.shot('tokens-emoji');
      await ui.page.fill('#sentence', SENTENCE);
      await ui.page.press('#sentence', 'Enter');
      await ui.page.waitForSelector('td.hex.partial', { state: 'detached' });
    });

    it('stays responsive on a 200-token sentence: large heatmaps are one image', async () => {
      const long = Array.from({ length: 200 }, (_, i) => `w${i % 37}`).join(' ');
      const n = (await expected({ text: long })).tokens.length;
      expect(n).toBeGreaterThanOrEqual(200);
      await openView(ui.page, 'heads');
      await ui.page.fill('#sentence', long);
      await ui.page.press('#sentence', 'Enter');
      await ui.page.waitForSelector('svg[data-name="weights-head-0"] image.cells', {
        timeout: 30_000,
      });
      await ui.page.waitForSelector('main[data-ready="heads"]');
      expect(
        await ui.page.locator('svg[data-name="weights-head-0"]').getAttribute('data-rows'),
      ).toBe(String(n));
      expect(await ui.page.locator('main rect').count()).toBe(0);
      // The tall head view is drawn only when opened.
      expect(await ui.page.locator('svg[data-name="head-view"]').count()).toBe(0);
      await ui.shot('heads-200-tokens');
      await ui.page.click('[data-testid="head-view-folded"] summary');
      await ui.page.waitForSelector('svg[data-name="head-view"]');
      await ui.page.fill('#sentence', SENTENCE);
      await ui.page.press('#sentence', 'Enter');
      await ui.page.waitForSelector('svg[data-name="weights-head-0"] rect');
    });

    it('never scrolls sideways in a 390 px wide window', async () => {
      const narrow = await ui.narrowPage();
      for (const view of ['tokens', 'search', 'heads', 'model', 'next', 'masks', 'positions']) {
        await narrow.click(`nav button[data-view="${view}"]`);
        await narrow.waitForSelector(`main[data-ready="${view}"]`);
        const wide = await narrow.evaluate(() => document.documentElement.scrollWidth);
        expect(wide, `${view} at 390 px`).toBeLessThanOrEqual(390);
        if (view === 'tokens' || view === 'heads') {
          await ui.shot(`narrow-${view}`, narrow);
        }
      }
      await narrow.close();
    });

    it('draws the random layer in the model view with its roles, under the banner', async () => {
      await openView(ui.page, 'model');
      expect(await ui.page.locator('[data-testid="random-banner"]').count()).toBe(1);
      expect(await ui.page.locator('button.thumb').count()).toBe(DEFAULT_SETTINGS.numHeads);
      const want = await expected({ text: SENTENCE });
      for (let k = 0; k < DEFAULT_SETTINGS.numHeads; k++) {
        const shown = (await ui.page.getAttribute(
          `svg[data-name="model-0-${k}"] image`,
          'data-values',
        ))!
          .split(',')
          .map(Number);
        expectAllClose(shown, stackAt(want.layer.weights, k).data, `random layer head ${k}`);
      }
      expectAllClose(
        await values(ui.page, '[data-testid="roles-table"] td.previous'),
        previousTokenScores(want.layer.weights),
        'previous-token scores',
      );
      await ui.page.click('[data-testid="find-induction"]');
      await ui.page.waitForSelector('[data-testid="induction-status"][data-done]');
      expect(await ui.page.textContent('[data-testid="induction-status"]')).toMatch(
        /untrained random weights: no head has learned anything/,
      );
      await ui.shot('model-random');
      await openView(ui.page, 'next');
      expect(await ui.page.textContent('[data-testid="no-lm"]')).toMatch(/not a language model/);
    });

    it('shows an error panel, not a blank page, when the input is unusable', async () => {
      await openView(ui.page, 'tokens');
      await ui.page.fill('#sentence', '');
      await ui.page.press('#sentence', 'Enter');
      const panel = ui.page.locator('[data-testid="errors"]');
      await panel.waitFor({ state: 'visible' });
      expect(await panel.textContent()).toMatch(/no tokens/);
      expect(await ui.page.locator('nav button').count()).toBeGreaterThan(0);
      await ui.shot('error');
      await ui.page.fill('#sentence', SENTENCE);
      await ui.page.press('#sentence', 'Enter');
      await panel.waitFor({ state: 'hidden' });
    });

    it('loads q/k/v weights from a safetensors file and shows their attention', async () => {
      const w = randn([48, 16], { seed: 99, std: 0.3 });
      const bytes = await saveSafetensors({ in_proj_weight: w });
      w.dispose();
      const file = join(mkdtempSync(join(tmpdir(), 'qkv-demo-')), 'mha.safetensors');
      writeFileSync(file, bytes);
      await openView(ui.page, 'heads');
      await ui.page.setInputFiles('#weights-file', file);
      await ui.page.waitForFunction(() =>
        document.querySelector('[data-testid="weights"]')?.textContent?.includes('mha.safetensors'),
      );
      await ui.page.waitForSelector('main[data-ready="heads"]');
      const want = await expected({ text: SENTENCE, dModel: 16 }, () =>
        projectionsFromSafetensors(bytes, 'mha.safetensors'),
      );
      const shown = await values(ui.page, 'svg[data-name="weights-head-1"] rect');
      expectAllClose(shown, stackAt(want.layer.weights, 1).data, 'head 1 with loaded weights');
      await ui.shot('heads-loaded-weights');
      const junk = join(dirname(file), 'junk.safetensors');
      writeFileSync(junk, new Uint8Array([1, 2, 3]));
      await ui.page.setInputFiles('#weights-file', junk);
      const panel = ui.page.locator('[data-testid="errors"]');
      await panel.waitFor({ state: 'visible' });
      expect(await panel.textContent()).toMatch(
        /Loading junk\.safetensors: .*shorter than the 8-byte header/,
      );
      await ui.page.click('text=seeded random');
      await panel.waitFor({ state: 'hidden' });
      await ui.page.waitForFunction(() =>
        document.querySelector('[data-testid="weights"]')?.textContent?.includes('seeded random'),
      );
    });

    it('logged no script errors beyond the one provoked', () => {
      expect(
        ui.problems.filter((p) => !/no tokens|junk\.safetensors|8-byte header/.test(p)),
      ).toEqual([]);
    });
  });
}
