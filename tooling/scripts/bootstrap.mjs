#!/usr/bin/env node
// Entry point behind the root `npm start`, `npm test` and `npm run bench`: a fresh clone has
// only Node and npm, so this script brings the pinned pnpm, installs the workspace from the
// lockfile, prepares the software WebGPU adapter, and then runs the task.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [task = 'test', ...extraArgs] = process.argv.slice(2);

function run(cmd, args, env = process.env) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** The pnpm pinned in package.json's `packageManager`, run through npx when not installed. */
function pnpmCommand() {
  const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager;
  const version = pinned.replace(/^pnpm@/, '');
  const installed = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (installed.status === 0 && installed.stdout.trim() === version) return ['pnpm'];
  return ['npx', '--yes', `pnpm@${version}`];
}

const [pnpm, ...pnpmPrefix] = pnpmCommand();
let taskEnv = { ...process.env };
const pnpmRun = (...args) => run(pnpm, [...pnpmPrefix, ...args], taskEnv);

// pnpm install is a quick no-op when node_modules already matches the lockfile.
pnpmRun('install', '--frozen-lockfile', '--prefer-offline');

// The software adapter (SwiftShader from an npm package) for machines without a GPU.
// Imported after the install: it finds the driver inside node_modules.
const { softwareWebGPUEnv } = await import('../webgpu-env/src/env.mjs');
taskEnv = { ...taskEnv, ...(await softwareWebGPUEnv()) };

switch (task) {
  case 'test':
    pnpmRun('turbo', 'run', 'test', '--concurrency=1', '--continue', ...extraArgs);
    break;
  case 'start':
    pnpmRun('turbo', 'run', 'build', '--filter=@qkv/demo^...', '--output-logs=errors-only');
    pnpmRun('--filter', '@qkv/demo', 'start', ...extraArgs);
    break;
  case 'bench':
    pnpmRun('turbo', 'run', 'build', '--filter=@qkv/bench^...', '--output-logs=errors-only');
    pnpmRun('--filter', '@qkv/bench', 'bench', ...extraArgs);
    break;
  default:
    console.error(`bootstrap: unknown task "${task}" (expected test, start or bench)`);
    process.exit(2);
}
