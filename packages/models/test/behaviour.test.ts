import { Random, scope, tensor } from '@qkv/tensor';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { loadModel, type Model, sampleToken } from '../src/index.js';
import { expected, expectNoLeaks, FIXTURES } from './helpers.js';

// Generation options, input validation, and the promise that a call that throws leaves the
// model and its cache as they were.

const llama = expected('llama');
let model: Model;
expectNoLeaks();
beforeEach(async () => {
  model = await loadModel(`${FIXTURES}llama`);
});
afterEach(() => model.dispose());

const lastLogits = async (out: ReturnType<Model['forward']>) => {
  const data = await out.logits!.data();
  out.logits!.dispose();
  out.lastHiddenState.dispose();
  return Array.from(data.slice(data.length - 96));
};

describe('a call that throws changes nothing', () => {
  test('a forward with a bad token id leaves the cache as it was', async () => {
    const cache = model.createCache(1);
    const prompt = llama.greedy!.prompt;
    await lastLogits(model.forward([prompt.slice(0, 3)], { cache }));
    expect(() => model.forward([[96]], { cache })).toThrow(
      'llama.forward: inputIds[0][0] is 96; expected a token id in [0, 96)',
    );
    expect(() => model.forward([[1, 2]], { cache, attentionMask: [[1, 2]] })).toThrow(
      /attentionMask\[0\]\[1\] is 2/,
    );
    expect(cache.length).toBe(3);
    const stepped = await lastLogits(model.forward([prompt.slice(3, 5)], { cache }));
    const full = await lastLogits(model.forward([prompt.slice(0, 5)]));
    for (let i = 0; i < full.length; i++) expect(stepped[i]).toBeCloseTo(full[i]!, 4);
    cache.dispose();
  });

  test('generate with bad options throws and the model still generates', async () => {
    await expect(model.generate([1, 2], { topP: 0 })).rejects.toThrow(
      'llama.generate: topP must be in (0, 1], got 0',
    );
    await expect(model.generate([1, 2], { temperature: -1 })).rejects.toThrow(
      /temperature must be/,
    );
    await expect(model.generate([1, 200])).rejects.toThrow(/inputIds\[0\]\[1\] is 200/);
    const ids = await model.generate(llama.greedy!.prompt, { maxNewTokens: 6, stopTokens: [] });
    expect(ids).toEqual(llama.greedy!.newTokens);
  });

  test('a disposed model says so', () => {
    model.dispose();
    expect(() => model.forward([[1]])).toThrow('llama.forward: the model was disposed');
  });
});

test('inputIds may be an int32 tensor; other tensors are refused by name', async () => {
  const prompt = llama.greedy!.prompt;
  const ids = tensor(Int32Array.from(prompt), [1, prompt.length], {
    dtype: 'int32',
    device: model.device,
  });
  const fromTensor = await lastLogits(model.forward(ids));
  const fromArrays = await lastLogits(model.forward([prompt]));
  expect(fromTensor).toEqual(fromArrays);
  ids.dispose();
  const floats = tensor([1, 2], [1, 2], { device: model.device });
  expect(() => model.forward(floats)).toThrow(
    /llama\.forward: inputIds must be an int32 tensor \[B, L\], got Tensor\(\[1, 2\], float32/,
  );
  floats.dispose();
});

test('logitsToKeep gives the last positions of the full logits', async () => {
  const prompt = llama.greedy!.prompt;
  const out = model.forward([prompt], { logitsToKeep: 2 });
  expect(out.logits!.shape).toEqual([1, 2, 96]);
  const kept = Array.from(await out.logits!.data());
  out.logits!.dispose();
  out.lastHiddenState.dispose();
  const full = model.forward([prompt]);
  const all = Array.from(await full.logits!.data());
  full.logits!.dispose();
  full.lastHiddenState.dispose();
  expect(kept).toEqual(all.slice(all.length - 2 * 96));
  expect(() => model.forward([prompt], { logitsToKeep: 9 })).toThrow(
    'llama.forward: logitsToKeep must be an integer in [0, 5], got 9',
  );
});

describe('generate', () => {
  test('stops after a stop token, which is included', async () => {
    const greedy = llama.greedy!.newTokens;
    const ids = await model.generate(llama.greedy!.prompt, {
      maxNewTokens: 6,
      stopTokens: [greedy[2]!],
    });
    expect(ids).toEqual(greedy.slice(0, greedy.indexOf(greedy[2]!) + 1));
  });

  test('sampling is seeded; topK 1 and a tiny topP are greedy', async () => {
    const prompt = llama.greedy!.prompt;
    const options = { maxNewTokens: 6, stopTokens: [], temperature: 1.5 };
    const a = await model.generate(prompt, { ...options, seed: 7 });
    const b = await model.generate(prompt, { ...options, seed: 7 });
    expect(a).toEqual(b);
    expect(await model.generate(prompt, { ...options, topK: 1 })).toEqual(llama.greedy!.newTokens);
    expect(await model.generate(prompt, { ...options, topP: 1e-6 })).toEqual(
      llama.greedy!.newTokens,
    );
  });

  test('a batch of prompts gives each row what it gives alone', async () => {
    const [p, q] = [llama.greedy!.prompt, llama.inputIds[1]!.slice(0, 5)];
    const alone = [
      await model.generate(p, { maxNewTokens: 4, stopTokens: [] }),
      await model.generate(q, { maxNewTokens: 4, stopTokens: [] }),
    ];
    expect(await model.generate([p, q], { maxNewTokens: 4, stopTokens: [] })).toEqual(alone);
    // Left-padded: the shorter prompt's row is unchanged by its padding.
    const short = q.slice(2);
    const padded = await model.generate([p, [0, 0, ...short]], {
      maxNewTokens: 4,
      stopTokens: [],
      attentionMask: [
        [1, 1, 1, 1, 1],
        [0, 0, 1, 1, 1],
      ],
    });
    expect(padded[1]).toEqual(await model.generate(short, { maxNewTokens: 4, stopTokens: [] }));
  });

  test('forward inside scope() keeps the cache alive', async () => {
    const cache = model.createCache(1);
    scope(() => {
      model.forward([[1, 2, 3]], { cache });
    });
    expect(cache.tensors.every((t) => !t.isDisposed)).toBe(true);
    expect(cache.tensors).toHaveLength(2 * model.numLayers);
    cache.dispose();
  });
});

test('sampleToken follows temperature, top-k and top-p', () => {
  const logits = [0, 3, 1, 2.9];
  const random = new Random(1);
  expect(sampleToken(logits, {}, random)).toBe(1);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 2000; i++)
    counts[sampleToken(logits, { temperature: 1, topK: 2 }, random)]!++;
  expect(counts[0]! + counts[2]!).toBe(0);
  expect(counts[1]! / 2000).toBeCloseTo(Math.exp(3) / (Math.exp(3) + Math.exp(2.9)), 1);
  // p(1) ≈ 0.45 < 0.5: the nucleus needs tokens 1 and 3.
  for (let i = 0; i < 200; i++)
    expect([1, 3]).toContain(sampleToken(logits, { temperature: 1, topP: 0.5 }, random));
});
