import { checkpointShapes, loadModel, type Model } from '@qkv/models';
import { Random, type Tensor } from '@qkv/tensor';
import { ORT_PACKAGE } from '../peers/onnxruntime.js';
import type { Suite, SuiteContext } from '../suite.js';
import { contextDevice, isSoftwareDevice } from './common.js';
import { onnxPrefillPeer } from './model-onnx-peer.js';

/**
 * Whole models, random weights, loaded through `@qkv/models`' loader from an in-memory
 * checkpoint: a GPT-2-small-shaped model (124M parameters) and a SmolLM2-135M-shaped Llama.
 * - prefill: a P-token prompt to the first new token (tokens/s = P / time);
 * - decode: one new token against a cache of S positions, at several S; the fitted slope of
 *   time against S shows that decoding does not re-run the prompt (about 0: flat);
 * - generate: N tokens streamed, with the live device buffers after each token (they must
 *   not grow) and the least-squares ms-per-token growth over the run.
 * - onnxruntime-node on the same weights (exported at bench time, see model-onnx-peer.ts):
 *   prefill to the first token's logits, checked against qkv's, then timed.
 * On a hardware GPU the models have every layer. On the CPU and software adapters they keep
 * their real widths and vocabularies but 2 layers, so a default run stays short;
 * QKV_BENCH_FULL_MODELS=1 runs every layer there too.
 */

interface ModelShape {
  name: string;
  config: Record<string, unknown>;
  layersKey: string;
}

const SHAPES: readonly ModelShape[] = [
  {
    name: 'gpt2-small',
    layersKey: 'n_layer',
    config: {
      model_type: 'gpt2',
      vocab_size: 50257,
      n_embd: 768,
      n_head: 12,
      n_layer: 12,
      n_positions: 1024,
      layer_norm_epsilon: 1e-5,
      activation_function: 'gelu_new',
    },
  },
  {
    name: 'smollm2-135m',
    layersKey: 'num_hidden_layers',
    config: {
      model_type: 'llama',
      vocab_size: 49152,
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      max_position_embeddings: 8192,
      rms_norm_eps: 1e-5,
      rope_theta: 100000,
      tie_word_embeddings: true,
    },
  },
];

/** The quick run's stand-in: the same architectures, tiny. */
const QUICK: Record<string, Record<string, number>> = {
  'gpt2-small': { vocab_size: 512, n_embd: 64, n_head: 4, n_layer: 1 },
  'smollm2-135m': {
    vocab_size: 512,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  },
};

/** A safetensors file of N(0, 0.02²) weights (norm weights 1) for the config's parameters. */
function randomCheckpoint(config: Record<string, unknown>, seed: number): Uint8Array {
  const shapes = [...checkpointShapes(config)];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of shapes) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  const data = new Float32Array(out.buffer, 8 + json.length, offset / 4);
  const rng = new Random(seed);
  let at = 0;
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = /(norm|ln_\d|ln_f)\.weight$/.test(name);
    // Uniform with the standard deviation of N(0, 0.02²): cheaper to draw than normals.
    for (let i = 0; i < n; i++) data[at + i] = isNorm ? 1 : (rng.nextFloat() - 0.5) * 0.0693;
    at += n;
  }
  return out;
}

function leastSquaresSlope(ys: readonly number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

export const modelSuite: Suite = {
  name: 'model',
  description:
    'GPT-2-small and SmolLM2-135M shapes (random weights): prefill and decode tokens/s, decode time vs cache length, live buffers over generation',
  async run(ctx) {
    const device = contextDevice(ctx);
    // `process` is absent when the dashboard runs the suite in a browser.
    const fullEnv = typeof process !== 'undefined' && process.env.QKV_BENCH_FULL_MODELS === '1';
    const full = !isSoftwareDevice(device) || fullEnv;
    for (const [i, shape] of SHAPES.entries()) {
      const config = { ...shape.config, ...(ctx.quick ? QUICK[shape.name] : {}) };
      if (!ctx.quick && !full) config[shape.layersKey] = 2;
      await modelCase(ctx, shape.name, config, Number(config[shape.layersKey]), 900 + i);
    }
  },
};

async function modelCase(
  ctx: SuiteContext,
  name: string,
  config: Record<string, unknown>,
  layers: number,
  seed: number,
): Promise<void> {
  const device = contextDevice(ctx);
  const software = isSoftwareDevice(device);
  const prompt = ctx.quick ? 8 : software ? 32 : 128;
  const decodeAt = ctx.quick ? [8, 16] : software ? [32, 96] : [128, 256, 512, 1024];
  const generated = ctx.quick ? 8 : software ? 16 : 200;
  const started = performance.now();
  const checkpoint = randomCheckpoint(config, seed);
  const model = await loadModel(
    {
      'config.json': new TextEncoder().encode(JSON.stringify(config)),
      'model.safetensors': checkpoint,
    },
    { device },
  );
  const parameters = checkpoint.byteLength / 4;
  ctx.log(
    `model ${name}: ${layers} layers, ${(parameters / 1e6).toFixed(1)}M parameters, built and loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const vocab = Number(config.vocab_size);
  const rng = new Random(seed);
  const ids = (n: number) => Array.from({ length: n }, () => rng.nextUint32() % vocab);
  const base = { model: name, layers };
  const settle = async (t: Tensor) => {
    if (ctx.settle) await ctx.settle(t);
  };
  try {
    const promptIds = ids(prompt);
    const pre = await ctx.measure(
      'qkv prefill',
      { ...base, tokens: prompt },
      () => model.generate(promptIds, { maxNewTokens: 1, stopTokens: [] }),
      { warmup: software ? 0 : 1, repeats: software ? 2 : 5, config: { parameters } },
    );
    ctx.log(`  prefill ${prompt} tokens: ${((prompt / pre.medianMs) * 1000).toFixed(1)} tokens/s`);
    if (!ctx.quick) {
      const ortMs = await onnxPrefillPeer(
        ctx,
        { config, checkpoint },
        promptIds,
        await lastLogits(model, promptIds),
        { ...base, tokens: prompt },
      );
      if (ortMs !== undefined) {
        ctx.log(
          `  ${ORT_PACKAGE} prefill: ${((prompt / ortMs) * 1000).toFixed(1)} tokens/s, qkv takes ${(pre.medianMs / ortMs).toFixed(2)}x its time`,
        );
      }
    }
    for (const cached of decodeAt) {
      await measureDecode(ctx, model, ids(cached), { ...base, cached }, settle);
    }
    await measureGenerate(ctx, model, ids(prompt), generated, base);
  } finally {
    model.dispose();
  }
}

/** The prompt's last-position logits (the head runs on that row only). */
async function lastLogits(model: Model, prompt: readonly number[]): Promise<Float32Array> {
  const out = model.forward([prompt], { logitsToKeep: 1 });
  out.lastHiddenState.dispose();
  try {
    return (await out.logits!.data()) as Float32Array;
  } finally {
    out.logits!.dispose();
  }
}

/** One new token against a cache of `cached` positions (the cache grows by one per call). */
async function measureDecode(
  ctx: SuiteContext,
  model: Model,
  prefix: number[],
  params: Record<string, string | number>,
  settle: (t: Tensor) => Promise<void>,
): Promise<void> {
  const cache = model.createCache(1);
  try {
    const first = model.forward([prefix], { cache });
    first.logits?.dispose();
    first.lastHiddenState.dispose();
    const m = await ctx.measure(
      'qkv decode',
      params,
      async () => {
        const out = model.forward([[prefix[0]!]], { cache });
        await settle(out.logits!);
        out.logits!.dispose();
        out.lastHiddenState.dispose();
      },
      { warmup: 1, repeats: 3, x: 'cached', series: String(params.model) },
    );
    ctx.log(`  decode at ${params.cached} cached: ${(1000 / m.medianMs).toFixed(1)} tokens/s`);
  } finally {
    cache.dispose();
  }
}

/** Generate `count` tokens, watching live buffers and per-token time as the sequence grows. */
async function measureGenerate(
  ctx: SuiteContext,
  model: Model,
  prompt: number[],
  count: number,
  base: Record<string, string | number>,
): Promise<void> {
  const device = contextDevice(ctx);
  const buffers: number[] = [];
  const times: number[] = [];
  let last = 0;
  const m = await ctx.measure(
    'qkv generate',
    { ...base, prompt: prompt.length, tokens: count },
    async () => {
      buffers.length = 0;
      times.length = 0;
      last = performance.now();
      await model.generate(prompt, {
        maxNewTokens: count,
        stopTokens: [],
        onToken: () => {
          const now = performance.now();
          times.push(now - last);
          last = now;
          buffers.push(device.liveBuffers());
        },
      });
    },
    { warmup: 0, repeats: 1 },
  );
  // The first token includes the prompt; decode steps are the rest.
  const steps = times.slice(1);
  const slope = leastSquaresSlope(steps);
  const meanStep = steps.reduce((a, b) => a + b, 0) / steps.length;
  const grown = buffers[buffers.length - 1]! - buffers[1]!;
  m.config = {
    ...m.config,
    decodeTokensPerSec: Number((1000 / meanStep).toFixed(2)),
    msPerTokenSlope: Number(slope.toFixed(4)),
    liveBuffersFirst: buffers[1]!,
    liveBuffersLast: buffers[buffers.length - 1]!,
  };
  ctx.log(
    `  generate ${count}: ${(1000 / meanStep).toFixed(1)} decode tokens/s, time per token grows ${slope.toFixed(3)} ms per token (mean ${meanStep.toFixed(1)} ms), live buffers ${buffers[1]} -> ${buffers[buffers.length - 1]}`,
  );
  if (grown > 0) throw new Error(`bench model: live buffers grew by ${grown} over ${count} tokens`);
}
