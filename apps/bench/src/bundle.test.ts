import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseResult } from './result.js';

const script = fileURLToPath(new URL('./build/bundle.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));

describe('single-file bundle', () => {
  it('runs outside the workspace and records versions and commit baked in at bundle time', () => {
    // A directory with no node_modules above it, like the GPU machine's.
    const dir = mkdtempSync(join(tmpdir(), 'qkv-bundle-'));
    execFileSync(process.execPath, [tsx, script, join(dir, 'bench.mjs')], { stdio: 'pipe' });
    const out = join(dir, 'r.json');
    execFileSync(
      process.execPath,
      [join(dir, 'bench.mjs'), '--quick', '--suite', 'softmax', '--out', out],
      {
        cwd: dir,
        stdio: 'pipe',
      },
    );
    const result = parseResult(readFileSync(out, 'utf8'));
    expect(result.environment.packages['@qkv/tensor']).toBe('0.1.0');
    expect(result.environment.git?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(result.measurements.filter((m) => m.name === 'qkv')).toHaveLength(2);
  });
});
