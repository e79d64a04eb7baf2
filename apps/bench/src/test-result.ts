import { type BenchResult, RESULT_FORMAT, RESULT_VERSION } from './result.js';
import type { Measurement } from './suite.js';

/** A result record around `measurements`, for tests of what reads results. */
export function testResult(name: string, measurements: Measurement[]): BenchResult {
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    name,
    createdAt: '2026-01-01T00:00:00.000Z',
    options: {
      quick: true,
      device: 'cpu',
      suites: [...new Set(measurements.map((m) => m.suite))],
      warmup: 0,
      repeats: 1,
    },
    environment: {} as BenchResult['environment'],
    measurements,
    errors: [],
  };
}
