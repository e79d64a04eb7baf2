import { readFileSync } from 'node:fs';
import { expectClose, noGpuTest } from '@qkv/conformance';
import { createWebGPUDevice } from '@qkv/kernels';
import {
  cpu,
  type Device,
  finiteDifferenceCheck,
  grads,
  liveTensors,
  type Tensor,
  tensor,
} from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  clipGradNorm,
  crossEntropy,
  initParameters,
  languageModelLoss,
  type Optimizer,
  type Parameters,
  SGD,
  type TransformerConfig,
  trainStep,
} from './index.js';

interface Encoded {
  shape: number[];
  data: number[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/torch-training.json', import.meta.url), 'utf8'),
) as {
  torch: string;
  config: TransformerConfig;
  init: Record<string, Encoded>;
  adamw: { tokens: Encoded[]; losses: number[] };
  sgd: { tokens: Encoded[]; losses: number[] };
  crossEntropy: { logits: Encoded; targets: Encoded; loss: number; grad: Encoded };
};

const BACKENDS: [string, () => Device][] = [['cpu', cpu]];
const gpu = await createWebGPUDevice({ poison: true }).catch((error: Error) => error);
if (gpu instanceof Error) noGpuTest('training on webgpu', gpu.message);
else BACKENDS.push(['webgpu', () => gpu]);

function initial(device: Device): Parameters {
  return new Map(
    Object.entries(fixture.init).map(([name, p]) => [name, tensor(p.data, p.shape, { device })]),
  );
}

/** Train on the fixture's batches; returns the loss of every step. */
async function replay(
  device: Device,
  run: { tokens: Encoded[] },
  makeOptimizer: (params: Parameters) => Optimizer,
  clipNorm?: number,
): Promise<number[]> {
  const params = initial(device);
  const optimizer = makeOptimizer(params);
  const losses: number[] = [];
  for (const batch of run.tokens) {
    const tokens = tensor(batch.data, batch.shape, { dtype: 'int32', device });
    const loss = trainStep(optimizer, (p) => languageModelLoss(fixture.config, p, tokens), {
      ...(clipNorm ? { clipNorm } : {}),
    });
    losses.push((await loss.data())[0]!);
    loss.dispose();
    tokens.dispose();
  }
  optimizer.dispose();
  for (const p of params.values()) p.dispose();
  return losses;
}

for (const [backend, makeDevice] of BACKENDS) {
  describe(`training on ${backend}`, () => {
    // float32 against float64: the curves drift apart slowly as rounding compounds.
    const tol = { atol: 2e-3, rtol: 2e-3 };

    it(`50 AdamW steps follow PyTorch ${fixture.torch}'s loss curve`, async () => {
      const device = makeDevice();
      const before = [liveTensors(), device.liveBuffers()];
      const losses = await replay(device, fixture.adamw, (p) => new AdamW(p, { lr: 1e-2 }));
      expectClose(losses, fixture.adamw.losses, tol, 'AdamW losses');
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]! - 0.3);
      expect([liveTensors(), device.liveBuffers()]).toEqual(before);
    });

    it('20 SGD steps with momentum, weight decay and gradient clipping follow PyTorch', async () => {
      const device = makeDevice();
      const before = [liveTensors(), device.liveBuffers()];
      const losses = await replay(
        device,
        fixture.sgd,
        (p) => new SGD(p, { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 }),
        1.0,
      );
      expectClose(losses, fixture.sgd.losses, tol, 'SGD losses');
      expect([liveTensors(), device.liveBuffers()]).toEqual(before);
    });

    it('crossEntropy and its gradient match PyTorch, ignoring target -100', async () => {
      const device = makeDevice();
      const { logits, targets, loss, grad } = fixture.crossEntropy;
      const x = tensor(logits.data, logits.shape, { device });
      const t = tensor(targets.data, targets.shape, { dtype: 'int32', device });
      const [g] = grads((l: Tensor) => crossEntropy(l, t))([x]);
      const value = crossEntropy(x, t);
      expect((await value.data())[0]).toBeCloseTo(loss, 5);
      expectClose(Array.from(await g!.data()), grad.data, { atol: 1e-6, rtol: 1e-5 }, 'grad');
      for (const d of [x, t, g!, value]) d.dispose();
    });

    it('clipGradNorm scales by maxNorm / norm only above maxNorm', async () => {
      const device = makeDevice();
      const a = tensor([3, 0], [2], { device });
      const b = tensor([4], [1], { device });
      const { grads: clipped, totalNorm } = clipGradNorm([a, b], 1);
      expect((await totalNorm.data())[0]).toBeCloseTo(5, 5);
      expectClose(Array.from(await clipped[0]!.data()), [0.6, 0], { atol: 1e-6, rtol: 1e-5 });
      expectClose(Array.from(await clipped[1]!.data()), [0.8], { atol: 1e-6, rtol: 1e-5 });
      const loose = clipGradNorm([a, b], 10);
      expectClose(Array.from(await loose.grads[1]!.data()), [4], { atol: 1e-5, rtol: 1e-5 });
      for (const d of [a, b, ...clipped, totalNorm, ...loose.grads, loose.totalNorm]) d.dispose();
    });
  });
}

describe('the transformer on the CPU', () => {
  it('has gradients that match finite differences, with and without pre-LN', () => {
    for (const layerNorm of [false, true]) {
      const config: TransformerConfig = {
        vocabSize: 5,
        dModel: 4,
        numHeads: 2,
        numLayers: 2,
        contextLength: 4,
        layerNorm,
      };
      const params = initParameters(config, { seed: 3, embedStd: 0.5 });
      const names = [...params.keys()];
      const tokens = tensor([1, 4, 0, 1, 3, 3, 2, 0], [2, 4], { dtype: 'int32' });
      const inputs = names.map((n) => ({
        shape: params.get(n)!.shape,
        values: Array.from(params.get(n)!.dataSync()),
      }));
      const { analytic, numeric } = finiteDifferenceCheck(
        (...ts) => languageModelLoss(config, new Map(names.map((n, i) => [n, ts[i]!])), tokens),
        inputs,
        { eps: 1e-2 },
      );
      analytic.forEach((g, a) => {
        expectClose(
          g,
          numeric[a]!,
          { atol: 2e-3, rtol: 2e-2 },
          `${names[a]} (layerNorm ${layerNorm})`,
        );
      });
      tokens.dispose();
      for (const p of params.values()) p.dispose();
    }
  });
});

describe('input checks', () => {
  it('crossEntropy names mismatched targets', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const t = tensor([0, 1, 2], [3], { dtype: 'int32' });
    expect(() => crossEntropy(x, t)).toThrow(/targets \[3\] must be the shape of logits \[2, 3\]/);
    x.dispose();
    t.dispose();
  });
});
