import { liveTensors } from '@qkv/tensor';
import { createContext, type RunnerSettings } from './context.js';
import type { BenchDevice } from './devices.js';
import type { Environment } from './environment.js';
import type { ProgressSink } from './progress.js';
import { type BenchResult, RESULT_FORMAT, RESULT_VERSION } from './result.js';
import type { Measurement, Suite } from './suite.js';

/**
 * Run suites one after another on one device and assemble the result record. Shared by the
 * Node CLI and the dashboard's in-browser runner; only the environment differs.
 */
export async function runSuites(options: {
  name: string;
  suites: readonly Suite[];
  settings: RunnerSettings;
  bench: BenchDevice;
  progress: ProgressSink;
  environment: (bench: BenchDevice) => Environment;
}): Promise<BenchResult> {
  const { suites, settings, bench, progress } = options;
  progress.line(
    `qkv-bench: ${suites.map((s) => s.name).join(', ')} on ${bench.info.name}${settings.quick ? ' (quick)' : ''}`,
  );
  const measurements: Measurement[] = [];
  const errors: BenchResult['errors'] = [];
  const tensorsBefore = liveTensors();
  for (const suite of suites) {
    const ctx = {
      ...createContext(suite.name, settings, progress, measurements),
      device: bench.device,
      settle: bench.settle,
    };
    try {
      await suite.run(ctx);
    } catch (error) {
      const message = (error as Error).message;
      errors.push({ suite: suite.name, message });
      progress.line(`${suite.name}: FAILED: ${message}`);
    }
  }
  const leaked = liveTensors() - tensorsBefore;
  if (leaked > 0) progress.line(`qkv-bench: warning: ${leaked} tensors were not disposed`);
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    name: options.name,
    createdAt: new Date().toISOString(),
    options: {
      quick: settings.quick,
      device: bench.kind,
      suites: suites.map((s) => s.name),
      warmup: settings.warmup,
      repeats: settings.repeats,
    },
    environment: options.environment(bench),
    measurements,
    errors,
  };
}
