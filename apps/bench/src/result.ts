import type { Environment } from './environment.js';
import type { Measurement } from './suite.js';

export const RESULT_FORMAT = 'qkv-bench-result';
export const RESULT_VERSION = 1;

/** One run of the CLI, as written to `--out` and read by the dashboard. */
export interface BenchResult {
  format: typeof RESULT_FORMAT;
  version: typeof RESULT_VERSION;
  /** A label for the run (defaults to the output file's name). */
  name: string;
  createdAt: string;
  options: {
    quick: boolean;
    device: string;
    suites: string[];
    warmup: number;
    repeats: number;
  };
  environment: Environment;
  measurements: Measurement[];
  /** Suites that threw, with the message; the others' measurements still stand. */
  errors: { suite: string; message: string }[];
}

type Check = (value: unknown, path: string, problems: string[]) => void;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function typeCheck(type: 'string' | 'number' | 'boolean', optional = false): Check {
  return (v, path, problems) => {
    if (v === undefined && optional) return;
    if (typeof v !== type || (type === 'number' && !Number.isFinite(v as number))) {
      problems.push(`${path}: expected ${type}, got ${JSON.stringify(v)}`);
    }
  };
}

function object(fields: Record<string, Check>, optional = false): Check {
  return (v, path, problems) => {
    if (v === undefined && optional) return;
    if (!isObject(v)) {
      problems.push(`${path}: expected an object`);
      return;
    }
    for (const [key, check] of Object.entries(fields)) check(v[key], `${path}.${key}`, problems);
  };
}

function arrayOf(item: Check): Check {
  return (v, path, problems) => {
    if (!Array.isArray(v)) problems.push(`${path}: expected an array`);
    else
      v.forEach((x, i) => {
        item(x, `${path}[${i}]`, problems);
      });
  };
}

function recordOf(types: string[], optional = false): Check {
  return (v, path, problems) => {
    if (v === undefined && optional) return;
    if (!isObject(v)) problems.push(`${path}: expected an object`);
    else
      for (const [k, x] of Object.entries(v)) {
        if (!types.includes(typeof x)) problems.push(`${path}.${k}: unexpected ${typeof x}`);
      }
  };
}

const num = typeCheck('number');
const str = typeCheck('string');
const optNum = typeCheck('number', true);
const optStr = typeCheck('string', true);
const params = recordOf(['string', 'number', 'boolean']);

const measurement = object({
  suite: str,
  name: str,
  params,
  samplesMs: arrayOf(num),
  medianMs: num,
  madMs: num,
  minMs: num,
  flops: optNum,
  bytes: optNum,
  tflops: optNum,
  mbPerSec: optNum,
  callsPerSample: optNum,
  x: optStr,
  series: optStr,
  group: optStr,
  role: (v, path, problems) => {
    if (v !== undefined && !['peer', 'variant', 'part'].includes(v as string))
      problems.push(`${path}: expected peer, variant or part, got ${JSON.stringify(v)}`);
  },
  config: recordOf(['string', 'number', 'boolean'], true),
  peakBytes: optNum,
});

const resultCheck = object({
  name: str,
  createdAt: str,
  options: object({
    quick: typeCheck('boolean'),
    device: str,
    suites: arrayOf(str),
    warmup: num,
    repeats: num,
  }),
  environment: object({
    node: str,
    platform: str,
    arch: str,
    cpu: object({ model: str, cores: num }),
    packages: recordOf(['string']),
    device: object({
      kind: str,
      name: str,
      backend: str,
      features: (v, p, problems) => v !== undefined && arrayOf(str)(v, p, problems),
      limits: recordOf(['number'], true),
    }),
  }),
  measurements: arrayOf(measurement),
  errors: arrayOf(object({ suite: str, message: str })),
});

/** Problems found in a parsed result file; empty when it is a valid `BenchResult`. */
export function resultProblems(value: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(value) || value.format !== RESULT_FORMAT) {
    return [`not a ${RESULT_FORMAT} file (format field missing or different)`];
  }
  if (value.version !== RESULT_VERSION) {
    problems.push(`version ${String(value.version)} is not the supported ${RESULT_VERSION}`);
  }
  resultCheck(value, 'result', problems);
  if (Array.isArray(value.measurements)) {
    value.measurements.forEach((m, i) => {
      if (isObject(m) && Array.isArray(m.samplesMs) && m.samplesMs.length === 0) {
        problems.push(`result.measurements[${i}].samplesMs: empty`);
      }
    });
  }
  return problems;
}

export function parseResult(text: string, source = 'result'): BenchResult {
  const value: unknown = JSON.parse(text);
  const problems = resultProblems(value);
  if (problems.length > 0) {
    throw new Error(`${source}: invalid result file:\n  ${problems.slice(0, 10).join('\n  ')}`);
  }
  return value as BenchResult;
}
