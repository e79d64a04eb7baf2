import { expectClose } from '@qkv/conformance';
import { narrow, type Tensor } from '@qkv/tensor';
import { expect, test } from 'vitest';
import { loadModel, type Model } from '../src/index.js';
import {
  describeOnDevices,
  expectCloseAtTokens,
  expected,
  expectNoLeaks,
  FIXTURES,
  TOLERANCE,
} from './helpers.js';

// Every architecture against fixtures/reference.py (Hugging Face's modeling files in
// PyTorch, float64) on checkpoints fixtures/generate.py wrote.

const CAUSAL = [
  ['gpt2', 'gpt2'],
  // The same weights without the `transformer.` prefix, in two shards.
  ['gpt2-sharded', 'gpt2'],
  ['llama', 'llama'],
  ['qwen2', 'qwen2'],
  ['mistral', 'mistral'],
] as const;

await describeOnDevices('models', (device) => {
  expectNoLeaks(device);

  const withModel = async (dir: string, body: (model: Model) => Promise<void>) => {
    const model = await loadModel(`${FIXTURES}${dir}`, { device: device() });
    try {
      await body(model);
    } finally {
      model.dispose();
    }
  };
  const disposeAll = (ts: (Tensor | undefined)[]) => {
    for (const t of ts) t?.dispose();
  };

  for (const [dir, ref] of CAUSAL) {
    const fixture = expected(ref);
    test(`${dir}: logits, hidden states and attentions, unpadded and left / right padded`, async () => {
      await withModel(dir, async (model) => {
        for (const c of fixture.cases) {
          const out = model.forward(fixture.inputIds, {
            ...(c.attentionMask ? { attentionMask: c.attentionMask } : {}),
            outputAttentions: c.attentions !== undefined,
          });
          try {
            await expectCloseAtTokens(
              out.logits!,
              c.logits!,
              c.attentionMask,
              `${dir} ${c.mask} logits`,
            );
            await expectCloseAtTokens(
              out.lastHiddenState,
              c.lastHiddenState,
              c.attentionMask,
              `${dir} ${c.mask} hidden`,
            );
            for (const [i, a] of (c.attentions ?? []).entries()) {
              expectClose(
                await out.attentions![i]!.data(),
                a.data,
                TOLERANCE,
                `${dir} layer ${i} attention`,
              );
            }
          } finally {
            disposeAll([out.logits, out.lastHiddenState, ...(out.attentions ?? [])]);
          }
        }
      });
    });
  }

  for (const [dir] of CAUSAL.filter(([d]) => d !== 'gpt2-sharded')) {
    const fixture = expected(dir);
    test(`${dir}: greedy generation matches the reference token for token`, async () => {
      await withModel(dir, async (model) => {
        const streamed: number[] = [];
        const ids = await model.generate(fixture.greedy!.prompt, {
          maxNewTokens: fixture.greedy!.newTokens.length,
          temperature: 0,
          stopTokens: [],
          onToken: (t) => streamed.push(t),
        });
        expect(ids).toEqual(fixture.greedy!.newTokens);
        expect(streamed).toEqual(ids);
      });
    });

    test(`${dir}: KV-cached decoding equals full recomputation at every step`, async () => {
      await withModel(dir, async (model) => {
        // Row 1 left-padded, so the cache also carries padding and mask-derived positions.
        const mask = fixture.cases.find((c) => c.mask === 'left')!.attentionMask!;
        const ids = fixture.inputIds;
        const cache = model.createCache(2);
        try {
          for (let end = 2; end <= ids[0]!.length; end++) {
            // The first step feeds two positions at once, the rest one at a time.
            const from = end === 2 ? 0 : end - 1;
            const t = end - 1;
            const step = model.forward(
              ids.map((r) => r.slice(from, t + 1)),
              { cache, attentionMask: mask.map((r) => r.slice(0, t + 1)) },
            );
            const full = model.forward(
              ids.map((r) => r.slice(0, t + 1)),
              { attentionMask: mask.map((r) => r.slice(0, t + 1)) },
            );
            const last = narrow(full.logits!, 1, t, 1);
            const stepLast = narrow(step.logits!, 1, step.logits!.shape[1]! - 1, 1);
            try {
              const got = await stepLast.data();
              const want = await last.data();
              // Rows whose last position is padding have no meaningful output.
              const v = want.length / 2;
              for (let b = 0; b < 2; b++) {
                if (mask[b]![t] === 0) continue;
                expectClose(
                  got.subarray(b * v, (b + 1) * v),
                  want.subarray(b * v, (b + 1) * v),
                  TOLERANCE,
                  `${dir} step ${t} row ${b}`,
                );
              }
              expect(cache.length).toBe(t + 1);
            } finally {
              disposeAll([
                step.logits,
                step.lastHiddenState,
                full.logits,
                full.lastHiddenState,
                last,
                stepLast,
              ]);
            }
          }
        } finally {
          cache.dispose();
        }
      });
    });
  }

  test('bert: last hidden state and attentions, unpadded and padded', async () => {
    const fixture = expected('bert');
    await withModel('bert', async (model) => {
      for (const c of fixture.cases) {
        const out = model.forward(fixture.inputIds, {
          tokenTypeIds: fixture.tokenTypeIds!,
          ...(c.attentionMask ? { attentionMask: c.attentionMask } : {}),
          outputAttentions: c.attentions !== undefined,
        });
        try {
          expect(out.logits).toBeUndefined();
          await expectCloseAtTokens(
            out.lastHiddenState,
            c.lastHiddenState,
            c.attentionMask,
            `bert ${c.mask} hidden`,
          );
          for (const [i, a] of (c.attentions ?? []).entries()) {
            expectClose(
              await out.attentions![i]!.data(),
              a.data,
              TOLERANCE,
              `bert layer ${i} attention`,
            );
          }
        } finally {
          disposeAll([out.lastHiddenState, ...(out.attentions ?? [])]);
        }
      }
    });
  });
});
