import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SETTINGS, QUICK_SETTINGS, type RunnerSettings } from './context.js';
import { DEVICE_KINDS, type DeviceKind, type KernelsModule, openDevice } from './devices.js';
import { collectEnvironment } from './environment.js';
import { type ProgressSink, terminalProgress } from './progress.js';
import { type BenchResult, parseResult } from './result.js';
import { runSuites } from './run-suites.js';
import { DEFAULT_SUITES, findSuites, SUITES } from './suites/index.js';
import { summaryText } from './summary.js';
import { runComparisonTable, summaryTable } from './table.js';

const USAGE = `qkv-bench: benchmark qkv against its peers

  qkv-bench [run] [options]            run suites, print a table, write JSON
    --suite a,b          suites to run (default: ${DEFAULT_SUITES.join(',')})
    --device cpu|wasm|webgpu  where qkv runs (default cpu)
    --webgpu-backend B   Dawn backend for --device webgpu in Node (e.g. vulkan)
    --quick              tiny sizes and few repeats (CI smoke run)
    --warmup N --repeats N
    --out FILE           result JSON (e.g. results/latest.json)
    --name NAME          label for this run (default: the --out file name)
    --compare FILE       also print the change against an earlier result file
    --dashboard FILE     write the dashboard page with this run (and --compare's)
  qkv-bench dashboard FILE.json... --out FILE.html
  qkv-bench serve [FILE.json...] [--port N] [--dir DIR]
                       serve the dashboard with onnxruntime-web beside it, so the page's
                       live run can time its WebGPU attention on the same adapter
  qkv-bench list`;

export interface CliIo {
  /** Table and listings. */
  stdout: (text: string) => void;
  progress: ProgressSink;
  /** The WebGPU backend to use instead of importing `@qkv/kernels`. */
  kernels?: KernelsModule;
}

export const defaultIo = (): CliIo => ({
  stdout: (text) => process.stdout.write(`${text}\n`),
  progress: terminalProgress(),
});

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const [first, ...rest] = argv;
  const command = first && !first.startsWith('-') ? first : 'run';
  const args = command === first ? rest : [...argv];
  switch (command) {
    case 'run':
      return runCommand(args, io);
    case 'dashboard':
      return dashboardCommand(args, io);
    case 'serve':
      return serveCommand(args, io);
    case 'list':
      for (const s of SUITES) io.stdout(`${s.name.padEnd(12)} ${s.description}`);
      return 0;
    case 'help':
      io.stdout(USAGE);
      return 0;
    default:
      io.progress.line(`qkv-bench: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function nonNegativeInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`qkv-bench: --${name} must be an integer >= 0, got "${value}"`);
  return n;
}

async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string' },
      device: { type: 'string', default: 'cpu' },
      'webgpu-backend': { type: 'string' },
      quick: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      repeats: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      compare: { type: 'string' },
      dashboard: { type: 'string' },
    },
  });
  const kind = values.device as DeviceKind;
  if (!DEVICE_KINDS.includes(kind)) {
    throw new Error(`qkv-bench: --device must be ${DEVICE_KINDS.join(' or ')}, got "${kind}"`);
  }
  const base = values.quick ? QUICK_SETTINGS : DEFAULT_SETTINGS;
  const settings: RunnerSettings = {
    ...base,
    warmup: nonNegativeInt('warmup', values.warmup, base.warmup),
    repeats: Math.max(1, nonNegativeInt('repeats', values.repeats, base.repeats)),
  };
  const suites = findSuites(
    values.suite ? values.suite.split(',').map((s) => s.trim()) : DEFAULT_SUITES,
  );
  const before = values.compare ? readResult(values.compare) : undefined;

  const bench = await openDevice(kind, {
    ...(io.kernels ? { kernels: io.kernels } : {}),
    webgpu: values['webgpu-backend'] ? { backend: values['webgpu-backend'] } : {},
  });
  const result = await runSuites({
    name: values.name ?? (values.out ? basename(values.out, '.json') : 'run'),
    suites,
    settings,
    bench,
    progress: io.progress,
    environment: (b) => collectEnvironment(b.info),
  });
  const { measurements, errors } = result;
  io.stdout(summaryTable(measurements));
  if (before)
    io.stdout(
      `\nagainst ${before.name}:\n${runComparisonTable(before.measurements, measurements)}`,
    );
  io.stdout(`\nsummary:\n${summaryText(result, before)}`);
  if (values.out) {
    writeText(values.out, `${JSON.stringify(result, null, 2)}\n`);
    io.progress.line(`qkv-bench: wrote ${resolve(values.out)}`);
  }
  if (values.dashboard) {
    await writeDashboardFile(values.dashboard, before ? [before, result] : [result], io);
  }
  return errors.length > 0 ? 1 : 0;
}

async function dashboardCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string', default: 'results/dashboard.html' } },
  });
  if (positionals.length === 0)
    throw new Error('qkv-bench dashboard: give at least one result file');
  await writeDashboardFile(values.out, positionals.map(readResult), io);
  return 0;
}

async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '8080' },
      dir: { type: 'string', default: 'results/site' },
    },
  });
  const port = nonNegativeInt('port', values.port, 8080);
  // Loaded on demand: the page needs esbuild, the server the workspace's static server.
  const { writeSite } = await import('./dashboard/site.js');
  await writeSite(values.dir, positionals.map(readResult));
  const browserPackage = '@qkv/browser';
  const { serveStatic } = (await import(/* @vite-ignore */ browserPackage)) as {
    serveStatic(dir: string, port?: number): Promise<{ url: string }>;
  };
  const { url } = await serveStatic(values.dir, port);
  io.progress.line(`qkv-bench: serving ${resolve(values.dir)} at ${url} (Ctrl-C stops)`);
  await new Promise(() => {});
  return 0;
}

function readResult(path: string): BenchResult {
  return parseResult(readFileSync(path, 'utf8'), path);
}

function writeText(path: string, text: string): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, text);
}

async function writeDashboardFile(path: string, results: BenchResult[], io: CliIo): Promise<void> {
  // Loaded on demand: it bundles the page with esbuild, which the single-file CLI lacks.
  const { dashboardHtml } = await import('./dashboard/build.js');
  writeText(path, await dashboardHtml(results));
  io.progress.line(`qkv-bench: wrote ${resolve(path)}`);
}

/** `main` on this process's arguments: sets the exit code and prints errors without a stack. */
export async function runProcess(io: CliIo = defaultIo()): Promise<void> {
  try {
    process.exitCode = await main(process.argv.slice(2), io);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  }
}

/** Entry of the single-file bundle, which passes the bundled WebGPU backend when it has one. */
export async function runWithKernels(kernels?: KernelsModule): Promise<void> {
  await runProcess(kernels ? { ...defaultIo(), kernels } : defaultIo());
}
