import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseResult, resultProblems } from './result.js';

const sample = () =>
  JSON.parse(readFileSync(new URL('../samples/cpu-run-a.json', import.meta.url), 'utf8'));

describe('result files', () => {
  it('accepts the committed sample', () => {
    expect(resultProblems(sample())).toEqual([]);
  });

  it('names what is wrong with a broken file', () => {
    const broken = sample();
    broken.measurements[0].medianMs = 'fast';
    delete broken.environment.node;
    broken.measurements[1].samplesMs = [];
    const problems = resultProblems(broken);
    expect(problems).toContain('result.measurements[0].medianMs: expected number, got "fast"');
    expect(problems).toContain('result.environment.node: expected string, got undefined');
    expect(problems).toContain('result.measurements[1].samplesMs: empty');
    expect(() => parseResult(JSON.stringify(broken), 'x.json')).toThrow(/x.json: invalid/);
  });

  it('rejects other JSON', () => {
    expect(resultProblems({ hello: 1 })).toEqual([
      'not a qkv-bench-result file (format field missing or different)',
    ]);
  });
});
