import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, StaticServer } from '@qkv/browser';
import { loadModel, type Model } from '@qkv/models';
import { loadSafetensors } from '@qkv/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  firstTokenShares,
  inductionScores,
  previousTokenScores,
  repeatedRandomTokens,
} from '../src/model/head-roles.js';
import { topK } from '../src/model/hf-model.js';
import { type MatrixStack, stackAt } from '../src/model/matrix.js';
import { cosineSimilarity } from '../src/model/positions.js';
import { PROBE_SEED, probeLength } from '../src/views/model-view.js';
import { expectAllClose } from './close.js';
import { expectModelGrid } from './model-grid.js';
import { buildSite, TINY_GPT2_DIR, TINY_GPT2_FILES, TINY_GPT2_REPO, useExplorer } from './site.js';

// A tiny GPT-2 checkpoint in the Hugging Face layout, served by this test's own server at
// /<org>/<repo>/resolve/main/<file>, loaded by the page through the same code as the real
// hub (fetch, Cache Storage, @qkv/models), then compared with @qkv/models in Node.

const TEXT = 'the cat sat on the mat';

let site: StaticServer;
let reference: Model;

beforeAll(async () => {
  site = await buildSite('test-hub-model');
  reference = await loadModel(TINY_GPT2_DIR);
}, 120_000);

afterAll(async () => {
  reference?.dispose();
  await site?.close();
});

/** Per-layer attention `[H, L, L]` of the reference model on `ids`. */
async function referenceAttentions(ids: number[]): Promise<MatrixStack[]> {
  const out = reference.forward([ids], { outputAttentions: true });
  const layers = out.attentions!.map((a) => ({
    count: a.shape[1]!,
    rows: ids.length,
    cols: ids.length,
    data: Float32Array.from(a.dataSync() as ArrayLike<number>),
  }));
  for (const t of [out.logits!, out.lastHiddenState, ...out.attentions!]) t.dispose();
  return layers;
}

const numbers = (page: Page, selector: string, attribute = 'data-value') =>
  page.$$eval(selector, (els, a) => els.map((e) => Number(e.getAttribute(a))), attribute);

for (const webgpu of [true, false]) {
  describe(`a GPT-2 checkpoint from a hub-like server, WebGPU ${webgpu ? 'on SwiftShader' : 'disabled'}`, () => {
    const missing: string[] = [];
    // A 404 is logged for each optional file the repository lacks; `missing` lists them.
    const ui = useExplorer(
      webgpu,
      () => `${site.url}?hub=${encodeURIComponent(site.url)}`,
      /status of 404/,
    );
    const ids = () => reference.tokenizer!.encode(TEXT).ids;

    beforeAll(() => {
      ui.page.on('response', (r) => {
        if (r.status() === 404) missing.push(new URL(r.url()).pathname);
      });
    });

    it('downloads the checkpoint with progress, keeps it in Cache Storage and says where it runs', async () => {
      await ui.page.fill('#sentence', TEXT);
      await ui.page.press('#sentence', 'Enter');
      await ui.page.fill('#hub-repo', TINY_GPT2_REPO);
      await ui.page.click('#load-hub');
      await ui.page.waitForFunction(
        (repo) => document.querySelector('[data-testid="weights"]')?.textContent?.includes(repo),
        TINY_GPT2_REPO,
        { timeout: 60_000 },
      );
      const label = await ui.page.textContent('[data-testid="weights"]');
      expect(label).toMatch(/gpt2 from qkv-test\/tiny-gpt2 \(2 layers × 3 heads\)/);
      expect(label).toMatch(
        webgpu ? /on webgpu/i : /on the CPU \(WebAssembly SIMD, \d+ threads?\)/,
      );
      const cached = await ui.page.evaluate(async () =>
        (await (await caches.open('qkv-checkpoints')).keys()).map((r) => new URL(r.url).pathname),
      );
      await ui.page.waitForSelector('[data-testid="model-tokens"]');
      expect(
        await ui.page.$$eval('[data-testid="model-tokens"] .tok', (els) =>
          els.map((e) => Number(e.getAttribute('data-id'))),
        ),
      ).toEqual(ids());
      expect(cached.sort()).toEqual(
        TINY_GPT2_FILES.map((f) => `/${TINY_GPT2_REPO}/resolve/main/${f}`).sort(),
      );
    });

    it('reads the checkpoint from Cache Storage on a second visit', async () => {
      const fetched: string[] = [];
      const track = (r: { url(): string }) => {
        if (r.url().includes('/resolve/main/')) fetched.push(new URL(r.url()).pathname);
      };
      ui.page.on('request', track);
      await ui.page.reload();
      await ui.page.waitForSelector('main[data-ready="tokens"]');
      await ui.page.fill('#sentence', TEXT);
      await ui.page.press('#sentence', 'Enter');
      await ui.page.fill('#hub-repo', TINY_GPT2_REPO);
      await ui.page.click('#load-hub');
      await ui.page.waitForFunction(
        () =>
          document
            .querySelector('[data-testid="weights"]')
            ?.textContent?.includes('read from Cache Storage'),
        undefined,
        { timeout: 60_000 },
      );
      ui.page.off('request', track);
      // Only the optional file the repository lacks is asked for again.
      expect(fetched).toEqual([`/${TINY_GPT2_REPO}/resolve/main/tokenizer_config.json`]);
    });

    it('draws every layer and head in the model view as the library computes them', async () => {
      await ui.page.click('nav button[data-view="model"]');
      await ui.page.waitForSelector('main[data-ready="model"]');
      expect(await ui.page.locator('[data-testid="random-banner"]').count()).toBe(0);
      const want = await referenceAttentions(ids());
      expect(want.length * want[0]!.count).toBe(2 * 3);
      await expectModelGrid(ui.page, want, 1e-4, 1e-3);
      const previous = await numbers(ui.page, '[data-testid="roles-table"] td.previous');
      const first = await numbers(ui.page, '[data-testid="roles-table"] td.first');
      expectAllClose(
        previous,
        want.flatMap(previousTokenScores),
        'previous-token scores',
        1e-4,
        1e-3,
      );
      expectAllClose(first, want.flatMap(firstTokenShares), 'first-token shares', 1e-4, 1e-3);
      await ui.shot('model-view');
    });

    it('ranks heads by the induction probe with the library values', async () => {
      await ui.page.click('[data-testid="find-induction"]');
      await ui.page.waitForSelector('[data-testid="induction-status"][data-done]', {
        timeout: 60_000,
      });
      const config = reference.config;
      const prefix = [Number(config.bos_token_id)];
      const length = probeLength({ maxPositions: Number(config.n_positions), probePrefix: prefix });
      const vocab = Number(config.vocab_size);
      const probe = repeatedRandomTokens(
        length,
        Math.min(1000, Math.floor(vocab / 4)),
        vocab - 1,
        PROBE_SEED,
        prefix,
      );
      const want = (await referenceAttentions(probe)).map((a) => inductionScores(a, length, 1));
      const rows = await ui.page.$$eval('[data-testid="roles-table"] tr[data-layer]', (trs) =>
        trs.map((tr) => [
          Number(tr.getAttribute('data-layer')),
          Number(tr.getAttribute('data-head')),
          Number(tr.querySelector('td.induction')?.getAttribute('data-value')),
        ]),
      );
      expect(rows).toHaveLength(6);
      expectAllClose(
        rows.map(([, , v]) => v!),
        rows.map(([l, k]) => want[l!]![k!]!),
        'induction scores',
        1e-4,
        1e-3,
      );
      const shownOrder = rows.map(([, , v]) => v!);
      expect(shownOrder).toEqual([...shownOrder].sort((a, b) => b - a));
      expect(await ui.page.textContent('[data-testid="induction-status"]')).toMatch(
        /top heads \(layer\.head\) by induction score are \d\.\d/,
      );
      await ui.shot('model-induction');
    });

    it('opens a clicked head in the heads view', async () => {
      await ui.page.click('nav button[data-view="model"]');
      await ui.page.waitForSelector('main[data-ready="model"]');
      await ui.page.click('button.thumb[data-layer="1"][data-head="2"]');
      await ui.page.waitForSelector('main[data-ready="heads"] section[data-layer="1"]');
      const want = await referenceAttentions(ids());
      const shown = await numbers(ui.page, 'svg[data-name="weights-head-2"] rect');
      expectAllClose(shown, stackAt(want[1]!, 2).data, 'layer 1 head 2', 1e-4, 1e-3);
      expect(await ui.page.getAttribute('.head-picker button.active', 'class')).toBeTruthy();
      await ui.shot('heads-loaded-model');
    });

    it('predicts the next token and generates greedily, as the library does', async () => {
      await ui.page.click('nav button[data-view="next"]');
      await ui.page.waitForSelector('main[data-ready="next"]');
      const out = reference.forward([ids()]);
      const logits = Float32Array.from(out.logits!.dataSync() as ArrayLike<number>);
      const v = out.logits!.shape[2]!;
      out.logits!.dispose();
      out.lastHiddenState.dispose();
      const n = ids().length;
      const want = topK(logits.subarray((n - 1) * v, n * v), 10);
      const shownIds = await numbers(ui.page, '[data-testid="next-table"] tr[data-id]', 'data-id');
      expect(shownIds).toEqual(want.map((w) => w.index));
      expectAllClose(
        await numbers(ui.page, '[data-testid="next-table"] td.weight'),
        want.map((w) => w.probability),
        'top-10 probabilities',
        1e-5,
        1e-3,
      );
      await ui.page.fill('#new-tokens', '8');
      await ui.page.click('#generate');
      await ui.page.waitForSelector('[data-testid="generated"][data-ids]', { timeout: 60_000 });
      const generated = (await ui.page.getAttribute('[data-testid="generated"]', 'data-ids'))!
        .split(',')
        .map(Number);
      const greedy = (await reference.generate(ids(), {
        maxNewTokens: 8,
        temperature: 0,
      })) as number[];
      expect(generated).toEqual(greedy);
      expect(await ui.page.locator('.gen-token').count()).toBe(greedy.length);
      await ui.shot('next-token');
    });

    it('shows the learned position table as cosine similarities', async () => {
      await ui.page.click('nav button[data-view="positions"]');
      await ui.page.waitForSelector('[data-testid="learned-positions"][data-done]', {
        timeout: 30_000,
      });
      const file = loadSafetensors(readFileSync(join(TINY_GPT2_DIR, 'model.safetensors')));
      const name = Object.keys(file.tensors).find((k) => k.endsWith('wpe.weight'))!;
      const wpe = file.tensors[name]!;
      const table = {
        rows: wpe.shape[0]!,
        cols: wpe.shape[1]!,
        data: Float32Array.from(wpe.dataSync() as ArrayLike<number>),
      };
      for (const t of Object.values(file.tensors)) t.dispose();
      const shown = await numbers(ui.page, 'svg[data-name="learned-cosine"] rect');
      expectAllClose(shown, cosineSimilarity(table).data, 'cosine of wpe');
      await ui.shot('positions-learned');
    });

    it('loads the same files from a file picker', async () => {
      await ui.page.setInputFiles(
        '#checkpoint-files',
        TINY_GPT2_FILES.map((f) => join(TINY_GPT2_DIR, f)),
      );
      await ui.page.waitForFunction(() =>
        document.querySelector('[data-testid="weights"]')?.textContent?.includes('local files'),
      );
      await ui.page.click('nav button[data-view="model"]');
      await ui.page.waitForSelector('main[data-ready="model"]');
      const want = await referenceAttentions(ids());
      const shown = (await ui.page.getAttribute('svg[data-name="model-0-1"] image', 'data-values'))!
        .split(',')
        .map(Number);
      expectAllClose(shown, stackAt(want[0]!, 1).data, 'layer 0 head 1 from files', 1e-4, 1e-3);
    });

    it('logged no script errors; only the optional tokenizer_config.json was missing', () => {
      expect(ui.problems).toEqual([]);
      expect([...new Set(missing)]).toEqual([
        `/${TINY_GPT2_REPO}/resolve/main/tokenizer_config.json`,
      ]);
    });
  });
}
