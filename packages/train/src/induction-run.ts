import { type Device, mul, Random, scope, type Tensor, tensor } from '@qkv/tensor';
import { INDUCTION_CONFIG, INDUCTION_TRAINING, repeatedHalfTargets } from './experiment.js';
import { headScores, repeatedSequences } from './induction.js';
import { AdamW, type Parameters } from './optimizers.js';
import { languageModelLoss, trainStep } from './trainer.js';
import { attentionPatterns, initParameters, type TransformerConfig } from './transformer.js';

export interface InductionRunOptions {
  seed: number;
  device: Device;
  /** Defaults: `INDUCTION_CONFIG` and `INDUCTION_TRAINING`'s batch, lr and probe rows. */
  config?: TransformerConfig;
  batch?: number;
  lr?: number;
  /** Rows of the fixed probe the scores, losses and attention are measured on. */
  probeBatch?: number;
}

/** Equally shaped row-major matrices `[count, rows, cols]`, one per head. */
export interface AttentionStack {
  count: number;
  rows: number;
  cols: number;
  data: Float32Array;
}

/** A run measured on the probe: losses, each head's scores per layer, and attention. */
export interface Measurement {
  step: number;
  /** Mean next-token cross-entropy on the probe (nats), over every position. */
  loss: number;
  /** The same over the repeated half only (positions an induction head can predict). */
  repeatedLoss: number;
  /** Per layer, per head. */
  previousToken: number[][];
  induction: number[][];
  /** Per layer, the attention `[H, T, T]` on the probe's first row. */
  patterns: AttentionStack[];
}

async function host(t: Tensor): Promise<Float32Array> {
  return Float32Array.from((await t.data()) as ArrayLike<number>);
}

/**
 * One run of the induction experiment (`INDUCTION_CONFIG` trained as `INDUCTION_TRAINING`
 * says), stepped a few steps at a time and measured on a fixed probe, as the explorer's
 * Train view shows it: parameters from `seed`, training rows from a generator seeded with
 * `seed + 1`, so the same seed gives the same run on every device.
 */
export class InductionRun {
  readonly config: TransformerConfig;
  readonly device: Device;
  readonly seed: number;
  step = 0;
  readonly #params: Parameters;
  readonly #optimizer: AdamW;
  readonly #rng: Random;
  readonly #batch: number;
  readonly #probe: Tensor;
  readonly #probeTargets: Tensor;

  constructor(options: InductionRunOptions) {
    this.config = options.config ?? INDUCTION_CONFIG;
    this.device = options.device;
    this.seed = options.seed;
    this.#batch = options.batch ?? INDUCTION_TRAINING.batch;
    const { device } = options;
    this.#params = initParameters(this.config, {
      seed: options.seed,
      device,
      embedStd: INDUCTION_TRAINING.embedStd,
    });
    this.#optimizer = new AdamW(this.#params, {
      lr: options.lr ?? INDUCTION_TRAINING.lr,
      weightDecay: 0,
    });
    this.#rng = new Random(options.seed + 1);
    const t = this.config.contextLength;
    const rows = options.probeBatch ?? INDUCTION_TRAINING.probeRows;
    // Made on the CPU to read its tokens, then uploaded.
    const probeRng = new Random(INDUCTION_TRAINING.probeSeed);
    const probe = repeatedSequences(rows, t, this.config.vocabSize, { rng: probeRng });
    const ids = probe.dataSync() as Int32Array;
    probe.dispose();
    this.#probe = tensor(ids, [rows, t], { dtype: 'int32', device });
    this.#probeTargets = tensor(repeatedHalfTargets(ids, t), [rows, t - 1], {
      dtype: 'int32',
      device,
    });
  }

  /** Run `n` AdamW steps; resolves with the last step's training-batch loss. */
  async train(n: number): Promise<number> {
    let last: Tensor | undefined;
    for (let i = 0; i < n; i++) {
      last?.dispose();
      const tokens = repeatedSequences(
        this.#batch,
        this.config.contextLength,
        this.config.vocabSize,
        {
          rng: this.#rng,
          device: this.device,
          minPeriod: INDUCTION_TRAINING.minPeriod,
        },
      );
      last = trainStep(this.#optimizer, (p) => languageModelLoss(this.config, p, tokens));
      tokens.dispose();
      this.step++;
    }
    if (!last) return Number.NaN;
    try {
      return (await host(last))[0]!;
    } finally {
      last.dispose();
    }
  }

  /** Losses, head scores and attention on the probe at the current step. */
  async measure(): Promise<Measurement> {
    const step = this.step;
    const { loss, repeated, layers } = scope(() => ({
      loss: languageModelLoss(this.config, this.#params, this.#probe),
      repeated: languageModelLoss(this.config, this.#params, this.#probe, this.#probeTargets),
      layers: attentionPatterns(this.config, this.#params, this.#probe),
    }));
    try {
      const [, h, t] = layers[0]!.shape as [number, number, number];
      const previousToken: number[][] = [];
      const induction: number[][] = [];
      const patterns: AttentionStack[] = [];
      for (const layer of layers) {
        const data = await host(layer);
        const scores = headScores(data, layer.shape);
        previousToken.push(scores.previousToken);
        induction.push(scores.induction);
        patterns.push({ count: h, rows: t, cols: t, data: data.slice(0, h * t * t) });
      }
      return {
        step,
        loss: (await host(loss))[0]!,
        repeatedLoss: (await host(repeated))[0]!,
        previousToken,
        induction,
        patterns,
      };
    } finally {
      for (const x of [loss, repeated, ...layers]) x.dispose();
    }
  }

  /** A copy of the parameters now (the caller owns them), e.g. for a CurrentModel. */
  snapshot(): Parameters {
    // The optimizer replaces its tensors on every step; the copies stay as they are.
    return new Map([...this.#params].map(([name, p]) => [name, mul(p, 1)]));
  }

  dispose(): void {
    this.#optimizer.dispose();
    for (const p of this.#params.values()) p.dispose();
    this.#probe.dispose();
    this.#probeTargets.dispose();
  }
}
