import { liveTensors, matmul } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { formatMatrix } from './format.js';
import { attentionWalkthrough } from './walkthrough.js';

describe('attention walkthrough', () => {
  it('shows weights whose rows sum to one and an output equal to weights·V', () => {
    const before = liveTensors();
    const steps = attentionWalkthrough({
      tokens: ['a', 'b', 'c', 'd', 'e'],
      dModel: 8,
      causal: false,
      seed: 3,
    });
    const byTitle = (prefix: string) => steps.find((s) => s.title.startsWith(prefix))!.tensor;
    const weights = byTitle('weights').dataSync();
    for (let r = 0; r < 5; r++) {
      const row = Array.from(weights.slice(r * 5, r * 5 + 5));
      expect(row.reduce((p, v) => p + v, 0)).toBeCloseTo(1, 6);
      expect(Math.min(...row)).toBeGreaterThan(0);
    }
    const recomputed = matmul(byTitle('weights'), byTitle('values'));
    const output = byTitle('output').dataSync();
    for (const [i, v] of recomputed.dataSync().entries()) expect(output[i]).toBeCloseTo(v, 6);
    recomputed.dispose();
    for (const s of steps) s.tensor.dispose();
    expect(liveTensors()).toBe(before);
  });

  it('causal weights are zero above the diagonal and the first token attends only to itself', () => {
    const steps = attentionWalkthrough({
      tokens: ['a', 'b', 'c', 'd'],
      dModel: 4,
      causal: true,
      seed: 1,
    });
    const weights = steps.find((s) => s.title.startsWith('weights'))!.tensor.dataSync();
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) expect(weights[i * 4 + j]).toBe(0);
    expect(weights[0]).toBeCloseTo(1, 6);
    for (const s of steps) s.tensor.dispose();
  });

  it('formats -inf and elides wide matrices', () => {
    const text = formatMatrix(
      [1, Number.NEGATIVE_INFINITY, 0.5, 2],
      2,
      2,
      ['x', 'y'],
      ['p', 'q'],
      1,
    );
    expect(text.split('\n')).toEqual(['         p …', 'x    1.000 …', 'y    0.500 …']);
  });
});
