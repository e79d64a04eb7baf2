// The one file that knows @qkv/models: a loaded Hugging Face checkpoint as a CurrentModel.
import { type LoadProgress, loadModel, type Model } from '@qkv/models';
import { type Device, QkvError, type Tensor } from '@qkv/tensor';
import type { CurrentModel, ModelToken, NextToken } from './current-model.js';
import type { Matrix, MatrixStack } from './matrix.js';

/** A checkpoint's files by name, as Blobs (from Cache Storage, a fetch or a file picker). */
export type CheckpointFiles = Record<string, Blob>;

export interface LoadedModelOptions {
  device: Device;
  /** Where it runs, for the page: "WebGPU: …" or "CPU". */
  deviceLabel: string;
  /** Where it came from, e.g. the repository or "local files". */
  origin: string;
  onProgress?: (progress: LoadProgress) => void;
}

/** Load a checkpoint with @qkv/models and wrap it for the views. */
export async function loadCheckpoint(
  files: CheckpointFiles,
  options: LoadedModelOptions,
): Promise<CurrentModel> {
  const model = await loadModel(files, {
    device: options.device,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return wrapModel(model, options);
}

async function host(t: Tensor): Promise<Float32Array> {
  return Float32Array.from((await t.data()) as ArrayLike<number>);
}

function wrapModel(model: Model, options: LoadedModelOptions): CurrentModel {
  const config = model.config;
  const numHeads = Number(config.n_head ?? config.num_attention_heads);
  const vocab = Number(config.vocab_size);
  const bos = config.bos_token_id;
  const tokenizer = model.tokenizer;
  const text = (id: number) => (tokenizer ? tokenizer.decode([id]) : `#${id}`);
  const token = (id: number): ModelToken => ({ id, text: text(id) });
  const causal = model.kind === 'causal-lm';
  // Switching views re-draws the same text: keep the last forward's attention.
  let last: { key: string; layers: Promise<MatrixStack[]> } | undefined;
  return {
    label: `${model.modelType} from ${options.origin} (${model.numLayers} layers × ${numHeads} heads) on ${options.deviceLabel}`,
    trained: true,
    numLayers: model.numLayers,
    numHeads,
    probeRange: [Math.min(1000, Math.floor(vocab / 4)), vocab - 1],
    probePrefix: typeof bos === 'number' ? [bos] : [],
    ...(typeof config.n_positions === 'number' ? { maxPositions: config.n_positions } : {}),
    async tokenize(input) {
      if (!tokenizer)
        throw new QkvError(`${model.modelType}: the checkpoint has no tokenizer.json`);
      return tokenizer.encode(input).ids.map(token);
    },
    attentions(ids) {
      const key = ids.join(',');
      if (last?.key !== key) {
        const layers = forwardAttentions(model, ids);
        last = { key, layers };
        layers.catch(() => {
          if (last?.layers === layers) last = undefined;
        });
      }
      return last.layers;
    },
    ...(causal
      ? {
          async nextTokens(ids: readonly number[], k: number): Promise<NextToken[]> {
            const out = model.forward([[...ids]]);
            try {
              const logits = await host(out.logits!);
              const v = out.logits!.shape[2]!;
              return topK(logits.subarray((ids.length - 1) * v, ids.length * v), k).map(
                ({ index, probability }) => ({ ...token(index), probability }),
              );
            } finally {
              out.logits?.dispose();
              out.lastHiddenState.dispose();
            }
          },
          decoding: 'greedy, with the KV cache (the prompt runs once, then one token per step)',
          async generate(
            ids: readonly number[],
            maxNewTokens: number,
            onToken: (t: ModelToken) => void,
          ) {
            return (await model.generate([...ids], {
              maxNewTokens,
              temperature: 0,
              onToken: (id: number) => onToken(token(id)),
            })) as number[];
          },
        }
      : {}),
    positionEmbeddings: () => learnedPositions(model),
    dispose: () => model.dispose(),
  };
}

/** Per layer `[H, L, L]` attention of one forward pass over `ids`. */
async function forwardAttentions(model: Model, ids: readonly number[]): Promise<MatrixStack[]> {
  const out = model.forward([[...ids]], { outputAttentions: true });
  try {
    const L = ids.length;
    const layers: MatrixStack[] = [];
    for (const a of out.attentions ?? []) {
      layers.push({ count: a.shape[1]!, rows: L, cols: a.shape[3]!, data: await host(a) });
    }
    return layers;
  } finally {
    out.logits?.dispose();
    out.lastHiddenState.dispose();
    for (const a of out.attentions ?? []) a.dispose();
  }
}

/** Softmax of `logits` and its k largest entries, most likely first. */
export function topK(logits: Float32Array, k: number): { index: number; probability: number }[] {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const best: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (best.length < k || logits[i]! > logits[best[best.length - 1]!]!) {
      best.push(i);
      best.sort((a, b) => logits[b]! - logits[a]!);
      if (best.length > k) best.pop();
    }
  }
  return best.map((index) => ({ index, probability: Math.exp(logits[index]! - max) / sum }));
}

/** GPT-2's learned position table `wpe` `[n_positions, n_embd]`, from the live parameters. */
async function learnedPositions(model: Model): Promise<Matrix | undefined> {
  const wpe = model.parameters().get('wpe.weight');
  if (!wpe) return undefined;
  return { rows: wpe.shape[0]!, cols: wpe.shape[1]!, data: await host(wpe) };
}
