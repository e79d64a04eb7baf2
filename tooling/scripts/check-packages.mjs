#!/usr/bin/env node
// Release checks for every published package (packages/*, not private), run by CI after the
// build: publint --strict, attw (ESM-only profile), and an install of the packed tarball into
// an empty npm project followed by an import, since people install these one at a time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({
    dir: join(root, 'packages', dir),
    json: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')),
  }))
  .filter((p) => !p.json.private);

const only = process.argv.slice(2);
const selected = only.length ? packages.filter((p) => only.includes(p.json.name)) : packages;
const work = mkdtempSync(join(tmpdir(), 'qkv-pack-'));

// pnpm pack (not npm pack) so `workspace:` ranges become the real versions users get.
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1];
const execPath = process.env.npm_execpath ?? '';
const pnpm = /pnpm/.test(execPath)
  ? [process.execPath, execPath]
  : ['npx', '--yes', `pnpm@${pinned}`];
const tarballs = new Map();
for (const { dir, json } of packages) {
  const out = execFileSync(
    pnpm[0],
    [...pnpm.slice(1), 'pack', '--json', '--pack-destination', work],
    { cwd: dir, encoding: 'utf8' },
  );
  tarballs.set(json.name, JSON.parse(out).filename);
}

for (const { dir, json } of selected) {
  console.log(`\n== ${json.name}`);
  run(bin('publint'), ['--strict'], dir);
  run(bin('attw'), ['--pack', '.', '--profile', 'esm-only'], dir);

  // Install this package and the @qkv packages it depends on, from tarballs only.
  const needed = new Set([json.name]);
  const visit = (name) => {
    const pkg = packages.find((p) => p.json.name === name);
    for (const dep of Object.keys(pkg?.json.dependencies ?? {})) {
      if (dep.startsWith('@qkv/') && !needed.has(dep)) {
        needed.add(dep);
        visit(dep);
      }
    }
  };
  visit(json.name);
  const project = mkdtempSync(join(work, 'consumer-'));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
      ...[...needed].map((n) => tarballs.get(n)),
    ],
    project,
  );
  writeFileSync(
    join(project, 'check.mjs'),
    `const m = await import(${JSON.stringify(json.name)});\nconst names = Object.keys(m);\nif (names.length === 0) throw new Error('no exports');\nconsole.log(${JSON.stringify(json.name)} + ': ' + names.length + ' exports import from the installed tarball');\n`,
  );
  run('node', ['check.mjs'], project);
}
rmSync(work, { recursive: true, force: true });
