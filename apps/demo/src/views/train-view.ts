import {
  INDUCTION_CONFIG,
  INDUCTION_FORMED,
  INDUCTION_TRAINING,
  InductionRun,
  type Measurement,
} from '@qkv/train';
import { type TimingDevice, timingDevice } from '../app/timing-device.js';
import { stackAt } from '../model/matrix.js';
import { trainedModel } from '../model/trained-model.js';
import { fmt, h } from '../ui/dom.js';
import { heatmap } from '../ui/heatmap.js';
import { lineChart, type Series } from '../ui/line-chart.js';
import type { ViewContext } from './context.js';

/** Steps between measurements on the probe (the charts' points and the heatmaps). */
export const MEASURE_EVERY = 10;
/** The steps after which @qkv/train's induction experiment has formed its induction head. */
const DEFAULT_STEPS = INDUCTION_TRAINING.steps;
const DEFAULT_SEED = 1;
/** Time spent training between two paints, so the page stays responsive. */
const FRAME_BUDGET_MS = 40;

/** Side of an attention heatmap's grid, in CSS pixels. */
const HEATMAP_SIDE = 200;

/** One colour per head; layer 0 and layer 1 share them and differ by their legend entries. */
const HEAD_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const LAYER_COLOURS = [HEAD_COLOURS, ['#17becf', '#ff7f0e', '#8c564b', '#e377c2']];

/** After the next paint: a chunk of steps never delays a frame by more than its own time. */
const nextFrame = () =>
  new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

/**
 * Training lives as long as the page: switching views keeps the run and its charts, and a
 * view that is not shown pauses it.
 */
class TrainSession {
  readonly root: HTMLElement;
  ctx: ViewContext;
  #run: InductionRun | undefined;
  #history: Measurement[] = [];
  #running = false;
  #stepsPerChunk = 1;
  /** Training time of this run so far (ms), without measuring and painting. */
  #trainMs = 0;
  /** When the best layer-1 induction score first passed `INDUCTION_FORMED.induction`. */
  #formed: { step: number; ms: number } | undefined;
  /** The last reset, which a start waits for (its step-0 measurement comes first). */
  #resetting: Promise<void> = Promise.resolve();
  /** The training loop while it runs. */
  #looping: Promise<void> | undefined;
  readonly #seed: HTMLInputElement;
  readonly #steps: HTMLInputElement;
  readonly #start: HTMLButtonElement;
  readonly #status: HTMLElement;
  readonly #used: HTMLElement;
  readonly #formedNote: HTMLElement;
  readonly #charts: HTMLElement;
  readonly #heatmaps: HTMLElement;

  constructor(
    ctx: ViewContext,
    readonly where: TimingDevice,
  ) {
    this.ctx = ctx;
    const { numLayers, numHeads, dModel, vocabSize, contextLength } = INDUCTION_CONFIG;
    const numberInput = (id: string, value: number) =>
      h('input', { id, type: 'number', value, min: 1, style: 'width:6em' });
    this.#seed = numberInput('train-seed', DEFAULT_SEED);
    this.#steps = numberInput('train-steps', DEFAULT_STEPS);
    this.#seed.addEventListener('change', () => void this.reset());
    // A finished run trains on when Steps is raised.
    this.#steps.addEventListener('input', () => this.#setRunning(this.#running));
    this.#start = h('button', { id: 'train-start', onclick: () => this.#toggle() }, 'Start');
    this.#status = h('span', { class: 'note', 'data-testid': 'train-status' });
    this.#used = h('span', { class: 'note', 'data-testid': 'train-used' });
    this.#formedNote = h('p', { class: 'note', 'data-testid': 'train-formed' });
    this.#charts = h('div', { 'data-testid': 'train-charts' });
    this.#heatmaps = h('div', { 'data-testid': 'train-heatmaps' });
    this.root = h(
      'section',
      { 'data-testid': 'train', 'data-state': 'paused', 'data-step': 0 },
      h('h2', {}, 'Train: watch induction heads form'),
      h(
        'p',
        { class: 'intro' },
        `A ${numLayers}-layer transformer with attention only (no MLPs; ${numHeads} heads per layer, `,
        `d_model ${dModel}, vocabulary ${vocabSize}, context ${contextLength}) learns from rows of `,
        'random tokens that repeat a segment, ',
        'trained with AdamW in front of you. Olsson et al. (2022, "In-context Learning and ',
        'Induction Heads") saw two things form: previous-token heads in layer 0, which attend ',
        'to the token just before, then induction heads in layer 1, which use them to attend ',
        'to the token that followed the current token the last time it appeared, and copy it. ',
        'Watch a layer-0 previous-token score rise, then a layer-1 induction score jump; as it ',
        'does, the loss on the repeated half of the probe drops well below the loss on random ',
        `tokens (ln ${vocabSize} = ${fmt(Math.log(vocabSize), 2)} nats). Scores and heatmaps are measured every `,
        `${MEASURE_EVERY} steps on a fixed probe whose second half repeats its first.`,
      ),
      h(
        'p',
        { class: 'note', 'data-testid': 'train-device' },
        `Training runs on ${where.device.backend === 'webgpu' ? ctx.device.label : `the ${where.name}`}${where.device.backend === 'webgpu' && ctx.device.software ? ', a software adapter whose shaders run on the CPU, so expect it to be slow' : ''}.`,
      ),
      h(
        'div',
        { class: 'row' },
        h('label', {}, 'Seed ', this.#seed),
        h('label', {}, 'Steps ', this.#steps),
        this.#start,
        h('button', { id: 'train-reset', onclick: () => void this.reset() }, 'Reset'),
        h(
          'button',
          { id: 'train-use', onclick: () => this.#useModel() },
          'Use this model in the other views',
        ),
        this.#status,
      ),
      this.#used,
      this.#formedNote,
      this.#charts,
      this.#heatmaps,
    );
  }

  get #target(): number {
    return Math.max(1, Math.floor(Number(this.#steps.value) || DEFAULT_STEPS));
  }

  /** A new run from the seed, measured at step 0. */
  reset(): Promise<void> {
    this.#resetting = this.#reset();
    return this.#resetting;
  }

  async #reset(): Promise<void> {
    this.#setRunning(false);
    // The loop finishes its chunk before the run it trains is freed.
    await this.#looping;
    this.#run?.dispose();
    const seed = Math.floor(Number(this.#seed.value) || 0);
    this.#run = new InductionRun({ seed, device: this.where.device });
    this.#history = [];
    this.#stepsPerChunk = 1;
    this.#trainMs = 0;
    this.#formed = undefined;
    await this.#measure();
  }

  #setRunning(running: boolean): void {
    this.#running = running;
    const done = this.#run !== undefined && this.#run.step >= this.#target;
    this.root.dataset.state = running ? 'running' : done ? 'done' : 'paused';
    this.#start.textContent = running
      ? 'Pause'
      : done
        ? 'Done'
        : this.#run?.step
          ? 'Resume'
          : 'Start';
    this.#start.disabled = !running && done;
  }

  #toggle(): void {
    if (this.#running) this.#setRunning(false);
    else if (!this.#looping) {
      this.#looping = this.#loop().finally(() => {
        this.#looping = undefined;
      });
    }
  }

  async #loop(): Promise<void> {
    try {
      await this.#resetting;
      const run = this.#run;
      if (!run) return;
      this.#status.classList.remove('error');
      this.#setRunning(true);
      while (this.#running && run === this.#run && run.step < this.#target) {
        if (!this.root.isConnected) break;
        // Stop at every measurement step, so the same seed measures the same steps anywhere.
        const n = Math.min(
          this.#stepsPerChunk,
          MEASURE_EVERY - (run.step % MEASURE_EVERY),
          this.#target - run.step,
        );
        const t0 = performance.now();
        const loss = await run.train(n);
        const perStep = (performance.now() - t0) / n;
        this.#trainMs += perStep * n;
        this.#stepsPerChunk = Math.max(
          1,
          Math.min(MEASURE_EVERY, Math.floor(FRAME_BUDGET_MS / perStep)),
        );
        this.#status.textContent = `step ${run.step} of ${this.#target}, training-batch loss ${fmt(loss, 3)}, ${fmt(perStep, 0)} ms a step`;
        if (run.step % MEASURE_EVERY === 0 || run.step === this.#target) await this.#measure();
        await nextFrame();
      }
      if (run === this.#run) this.#setRunning(false);
    } catch (error) {
      this.#setRunning(false);
      this.#status.textContent = `Training failed: ${(error as Error).message}`;
      this.#status.classList.add('error');
    }
  }

  async #measure(): Promise<void> {
    const run = this.#run!;
    const m = await run.measure();
    if (run !== this.#run) return;
    this.#history.push(m);
    this.root.dataset.step = String(m.step);
    if (!this.#formed && Math.max(...m.induction.at(-1)!) > INDUCTION_FORMED.induction) {
      this.#formed = { step: m.step, ms: this.#trainMs };
      this.root.dataset.formedStep = String(m.step);
    }
    this.#formedNote.textContent = this.#formed
      ? `The best layer-1 induction score passed ${INDUCTION_FORMED.induction} at step ${this.#formed.step}, after ${fmt(this.#formed.ms / 1000, 1)} s of training on this device.`
      : '';
    this.#draw();
  }

  #useModel(): void {
    const run = this.#run;
    if (!run) {
      this.#used.textContent = 'Start training first: there is no model yet.';
      return;
    }
    this.ctx.useModel(
      trainedModel({
        config: run.config,
        params: run.snapshot(),
        device: run.device,
        deviceName: this.where.name,
        step: run.step,
        seed: run.seed,
      }),
    );
    this.#used.textContent = `The Model, Heads and Next token views now draw this model as it was at step ${run.step}; it reads the first ${run.config.contextLength} characters of the sentence, a–z and space as tokens.`;
  }

  #draw(): void {
    const history = this.#history;
    const last = history.at(-1)!;
    const line = (label: string, colour: string, pick: (m: Measurement) => number): Series => ({
      label,
      colour,
      points: history.map((m) => [m.step, pick(m)] as const),
    });
    // Each head's score, and the threshold past which @qkv/train's test counts it formed.
    const perHead = (score: 'previousToken' | 'induction') => [
      ...last[score].flatMap((heads, l) =>
        heads.map((_, k) =>
          line(`layer ${l} head ${k}`, LAYER_COLOURS[l]![k % 4]!, (m) => m[score][l]![k]!),
        ),
      ),
      {
        label: `formed (${INDUCTION_FORMED[score]})`,
        colour: '#777',
        guide: true,
        points: [
          [0, INDUCTION_FORMED[score]],
          [this.#target, INDUCTION_FORMED[score]],
        ] as const,
      },
    ];
    // The step axis runs to the run's end, so the charts also show how far it has come.
    const size = { width: 460, height: 250, xRange: [0, this.#target] as const };
    const scores = { ...size, xLabel: 'training step', yRange: [0, 1] as const };
    this.#charts.replaceChildren(
      lineChart(
        [
          line('all positions', '#333', (m) => m.loss),
          line('repeated half', '#d62728', (m) => m.repeatedLoss),
        ],
        { xLabel: 'training step', yLabel: 'probe loss (nats)', name: 'train-loss', ...size },
      ),
      h(
        'div',
        { class: 'row' },
        lineChart(perHead('previousToken'), {
          ...scores,
          yLabel: 'previous-token score',
          name: 'train-previous-token',
        }),
        lineChart(perHead('induction'), {
          ...scores,
          yLabel: 'induction score',
          name: 'train-induction',
        }),
      ),
    );
    this.#heatmaps.replaceChildren(
      h(
        'p',
        { class: 'note' },
        `Attention on the probe's first row at step ${last.step} (query rows, key columns; the second half repeats the first, so an induction head draws a diagonal ${last.patterns[0]!.rows / 2 - 1} keys back).`,
      ),
      ...last.patterns.flatMap((layer, l) => [
        h('h3', {}, `Layer ${l}`),
        h(
          'div',
          { class: 'row' },
          ...Array.from({ length: layer.count }, (_, k) =>
            h(
              'figure',
              { style: 'margin:0' },
              h('figcaption', { class: 'note' }, `layer ${l} head ${k}`),
              heatmap(stackAt(layer, k), {
                // About 200 px a side: four heads fit a row of a laptop's window.
                cell: Math.max(2, Math.floor(HEATMAP_SIDE / layer.rows)),
                max: 1,
                // One image instead of T² rects: redrawn every few steps, 8 of them.
                raster: true,
                name: `train-attention-${l}-${k}`,
                title: `layer ${l} head ${k}`,
                xTitle: 'key',
                yTitle: 'query',
                legend: k === layer.count - 1,
              }),
            ),
          ),
        ),
      ]),
    );
  }
}

let session: TrainSession | undefined;

/**
 * Train the induction-head transformer live on the page's device (WebGPU, else the CPU),
 * a few steps between paints, with the losses, head scores and heatmaps updating.
 */
export async function trainView(ctx: ViewContext): Promise<HTMLElement> {
  if (!session) {
    session = new TrainSession(ctx, await timingDevice(ctx.device));
    await session.reset();
  }
  session.ctx = ctx;
  return session.root;
}
