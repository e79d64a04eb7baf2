import { fail } from '../errors.js';
import type { CrossEntropyAttrs } from '../ops/cross-entropy.js';
import type { KernelContext } from '../registry.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';

/**
 * Calls `each(row, start, target, max, sumExp)` per row of logits (`sumExp` = Σ exp(x − max)
 * in float64), skipping rows whose target is `ignoreIndex`; a target outside [0, V) is an
 * error naming its position.
 */
function forEachRow(
  ctx: KernelContext<CrossEntropyAttrs>,
  each: (row: number, start: number, target: number, max: number, sumExp: number) => void,
): void {
  const [logits, targets] = ctx.inputs;
  const x = cpuData(logits!);
  const t = cpuData(targets!);
  const classes = logits!.shape[logits!.rank - 1]!;
  const { ignoreIndex } = ctx.attrs;
  for (let row = 0; row < t.length; row++) {
    const target = t[row]!;
    if (target === ignoreIndex) continue;
    if (target < 0 || target >= classes) {
      fail(
        'crossEntropy',
        `targets[${row}] (flat) is ${target}, outside [0, ${classes}) and not ignoreIndex ${ignoreIndex}`,
      );
    }
    const start = row * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, x[start + c]!);
    let sumExp = 0;
    for (let c = 0; c < classes; c++) sumExp += Math.exp(x[start + c]! - max);
    each(row, start, target, max, sumExp);
  }
}

export function registerCrossEntropyKernels(): void {
  // loss = logsumexp(x) − x[t] = max + log Σ exp(x − max) − x[t]; ignored rows stay 0.
  registerCpuKernel<CrossEntropyAttrs>('crossEntropy', (ctx, [out]) => {
    out!.fill(0);
    const x = cpuData(ctx.inputs[0]!);
    forEachRow(ctx, (row, start, target, max, sumExp) => {
      out![row] = max + Math.log(sumExp) - x[start + target]!;
    });
  });

  // dx = dy · (softmax(x) − onehot(t)); ignored rows stay 0.
  registerCpuKernel<CrossEntropyAttrs>('crossEntropyBackward', (ctx, [dx]) => {
    dx!.fill(0);
    const x = cpuData(ctx.inputs[0]!);
    const dy = cpuData(ctx.inputs[2]!);
    const classes = ctx.inputs[0]!.shape[ctx.inputs[0]!.rank - 1]!;
    forEachRow(ctx, (row, start, target, max, sumExp) => {
      const g = dy[row]!;
      for (let c = 0; c < classes; c++) {
        dx![start + c] = g * (Math.exp(x[start + c]! - max) / sumExp - (c === target ? 1 : 0));
      }
    });
  });
}
