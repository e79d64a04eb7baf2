// Where a training step of the explorer's model spends its time on the WebAssembly device, op
// by op: every kernel the device runs (its own or the reference it falls back on) is wrapped
// with a timer, then a few AdamW steps run. A diagnostic, not a benchmark suite:
//
//   npx tsx src/profile-train.ts [--threads N] [--steps N] [--without op,op]
//
// `--without` runs those ops on the reference kernels instead of the device's own (to see
// what a native kernel saves).
import { parseArgs } from 'node:util';
import {
  getKernel,
  type KernelConfig,
  listOps,
  Random,
  registerKernel,
  unregisterKernel,
} from '@qkv/tensor';
import {
  AdamW,
  INDUCTION_CONFIG,
  INDUCTION_TRAINING,
  initParameters,
  languageModelLoss,
  repeatedSequences,
  type TransformerConfig,
  trainStep,
} from '@qkv/train';
import { createWasmDevice } from '@qkv/wasm';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    steps: { type: 'string', default: '10' },
    without: { type: 'string', default: '' },
  },
});
const threads = Number(values.threads);
const steps = Number(values.steps);
const without = new Set(values.without.split(',').filter((op) => op !== ''));

// The Train view's model and training (one definition in @qkv/train).
const config: TransformerConfig = INDUCTION_CONFIG;
const { batch, lr, embedStd, minPeriod } = INDUCTION_TRAINING;

const device = await createWasmDevice({ threads });

interface OpTime {
  calls: number;
  /** Wall-clock and process CPU milliseconds. */
  ms: number;
  cpuMs: number;
  native: boolean;
}
const times = new Map<string, OpTime>();
let timing = false;

// Time every op's kernel on the wasm backend: the native one, else the CPU reference it falls
// back on, re-registered for wasm behind a timer.
for (const op of listOps()) {
  const own = without.has(op) ? undefined : getKernel(op, 'wasm');
  const kernel = (own ?? getKernel(op, 'cpu')) as KernelConfig<unknown, unknown> | undefined;
  if (!kernel) continue;
  if (getKernel(op, 'wasm')) unregisterKernel(op, 'wasm');
  registerKernel<unknown, unknown>({
    ...kernel,
    backend: 'wasm',
    run(ctx) {
      if (!timing) return kernel.run(ctx);
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const out = kernel.run(ctx);
      const cpu = process.cpuUsage(cpuStart);
      const entry = times.get(op) ?? { calls: 0, ms: 0, cpuMs: 0, native: own !== undefined };
      entry.calls++;
      entry.ms += performance.now() - start;
      entry.cpuMs += (cpu.user + cpu.system) / 1000;
      times.set(op, entry);
      return out;
    },
  });
}

const params = initParameters(config, { seed: 1, device, embedStd });
const optimizer = new AdamW(params, { lr, weightDecay: 0 });
const rng = new Random(2);
const step = () => {
  const tokens = repeatedSequences(batch, config.contextLength, config.vocabSize, {
    rng,
    device,
    minPeriod,
  });
  const loss = trainStep(optimizer, (p) => languageModelLoss(config, p, tokens));
  const value = (loss.dataSync() as Float32Array)[0]!;
  loss.dispose();
  tokens.dispose();
  return value;
};

for (let i = 0; i < 3; i++) step(); // warm up the JIT and the module's memory
timing = true;
const start = performance.now();
const cpuStart = process.cpuUsage();
let loss = 0;
for (let i = 0; i < steps; i++) loss = step();
const total = performance.now() - start;
// CPU time of the process (all its threads): on a busy machine, closer to the work than the
// wall clock, which also counts the time other processes hold the cores.
const cpu = process.cpuUsage(cpuStart);
const cpuMs = (cpu.user + cpu.system) / 1000;
timing = false;

const rows = [...times.entries()].sort((a, b) => b[1].cpuMs - a[1].cpuMs);
const perStep = (ms: number) => (ms / steps).toFixed(1);
const sum = (f: (t: OpTime) => number) => rows.reduce((s, [, t]) => s + f(t), 0);
console.log(
  `${device.name}, ${steps} steps (loss ${loss.toFixed(3)}): ${perStep(total)} ms/step wall ` +
    `(kernels ${perStep(sum((t) => t.ms))}), ${perStep(cpuMs)} ms/step CPU time ` +
    `(kernels ${perStep(sum((t) => t.cpuMs))})`,
);
console.log('op                              kernel     calls/step  wall ms  CPU ms  CPU share');
for (const [op, t] of rows) {
  console.log(
    `${op.padEnd(32)}${(t.native ? 'wasm' : 'reference').padEnd(11)}` +
      `${(t.calls / steps).toFixed(0).padStart(10)}${(t.ms / steps).toFixed(2).padStart(9)}` +
      `${(t.cpuMs / steps).toFixed(2).padStart(8)}${((100 * t.cpuMs) / cpuMs).toFixed(1).padStart(10)}%`,
  );
}
device.dispose();
