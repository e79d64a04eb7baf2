import { readFileSync } from 'node:fs';
import { expectClose } from '@qkv/conformance';
import {
  crossEntropy,
  loadSafetensors,
  mean,
  mul,
  scope,
  slice,
  type Tensor,
  tensor,
  transpose,
  valueAndGrads,
} from '@qkv/tensor';
import { AdamW } from '@qkv/train';
import { expect, test } from 'vitest';
import { checkpointShapes, loadModel, type Model } from '../src/index.js';
import { describeOnDevices, expected, expectNoLeaks, FIXTURES } from './helpers.js';

// `model.parameters()` is what a trainer needs: gradients of a loss through the whole model
// against PyTorch autograd (fixtures/generate-gradients.py, float64), and an optimizer whose
// steps replace the live entries change what the next forward computes.

const MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'bert'] as const;

/** float32 gradients through two layers against float64 autograd. */
const GRAD_TOLERANCE = { atol: 2e-4, rtol: 1e-3 };

function rightPadded(dir: string) {
  const fixture = expected(dir);
  const mask = fixture.cases.find((c) => c.mask === 'right')!.attentionMask!;
  return { fixture, mask };
}

/** What generate-gradients.py minimises: next-token cross-entropy, or BERT's mean h². */
function lossOf(model: Model, dir: string): Tensor {
  const { fixture, mask } = rightPadded(dir);
  if (model.kind === 'encoder') {
    const out = model.forward(fixture.inputIds, {
      attentionMask: mask,
      tokenTypeIds: fixture.tokenTypeIds!,
    });
    const h = out.lastHiddenState;
    return mean(mul(h, h));
  }
  const { logits } = model.forward(fixture.inputIds, { attentionMask: mask });
  const [b, l] = [fixture.inputIds.length, fixture.inputIds[0]!.length];
  const targets = fixture.inputIds.flatMap((row, i) =>
    row.slice(1).map((id, j) => (mask[i]![j + 1] === 0 ? -100 : id)),
  );
  const next = tensor(Int32Array.from(targets), [b, l - 1], {
    dtype: 'int32',
    device: model.device,
  });
  return crossEntropy(slice(logits!, [null, [0, l - 1]]), next);
}

function referenceGradients(dir: string) {
  const file = loadSafetensors(readFileSync(`${FIXTURES}${dir}/gradients.safetensors`));
  const { loss } = JSON.parse(readFileSync(`${FIXTURES}${dir}/gradients.json`, 'utf8')) as {
    loss: number;
  };
  return { grads: file.tensors, loss };
}

await describeOnDevices('model parameters', (device) => {
  expectNoLeaks(device);

  for (const dir of MODELS) {
    test(`${dir}: gradients of every parameter match PyTorch autograd`, async () => {
      const model = await loadModel(`${FIXTURES}${dir}`, { device: device() });
      const ref = referenceGradients(dir);
      try {
        const params = model.parameters();
        expect([...params.keys()].sort()).toEqual(Object.keys(ref.grads).sort());
        const names = [...params.keys()];
        const { value, grads } = valueAndGrads(() => lossOf(model, dir))(
          names.map((n) => params.get(n)!),
        );
        expectClose(await value.data(), [ref.loss], GRAD_TOLERANCE, `${dir} loss`);
        for (const [i, name] of names.entries()) {
          // Held transposed (the layout matmul reads fastest): compare in the checkpoint's.
          const g = model.transposedParameters.has(name) ? transpose(grads[i]!) : grads[i]!;
          const want = ref.grads[name]!;
          expect(g.shape, name).toEqual(want.shape);
          expectClose(await g.data(), await want.data(), GRAD_TOLERANCE, `${dir} d/d ${name}`);
          if (g !== grads[i]) g.dispose();
        }
        value.dispose();
        for (const g of grads) g.dispose();
      } finally {
        for (const t of Object.values(ref.grads)) t.dispose();
        model.dispose();
      }
    });
  }

  test('stateDict gives the checkpoint names, shapes and values', async () => {
    const model = await loadModel(`${FIXTURES}gpt2`, { device: device() });
    const file = loadSafetensors(readFileSync(`${FIXTURES}gpt2/model.safetensors`));
    try {
      const state = model.stateDict();
      const shapes = checkpointShapes(model.config);
      expect([...state.keys()].sort()).toEqual([...shapes.keys()].sort());
      for (const [name, t] of state) {
        expect(t.shape, name).toEqual(shapes.get(name));
        expectClose(await t.data(), await file.tensors[`transformer.${name}`]!.data(), {
          atol: 0,
          rtol: 0,
        });
        t.dispose();
      }
    } finally {
      for (const t of Object.values(file.tensors)) t.dispose();
      model.dispose();
    }
  });

  test('AdamW steps on model.parameters() lower the loss the next forward computes', async () => {
    const model = await loadModel(`${FIXTURES}llama`, { device: device() });
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    try {
      const losses: number[] = [];
      for (let step = 0; step < 5; step++) {
        const params = [...model.parameters()];
        const { value, grads } = valueAndGrads(() => lossOf(model, 'llama'))(
          params.map(([, t]) => t),
        );
        losses.push((await value.data())[0]!);
        value.dispose();
        optimizer.step(new Map(params.map(([name], i) => [name, grads[i]!])));
        for (const g of grads) g.dispose();
      }
      const after = scope(() => lossOf(model, 'llama'));
      losses.push((await after.data())[0]!);
      after.dispose();
      for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1]!);
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  });
});
