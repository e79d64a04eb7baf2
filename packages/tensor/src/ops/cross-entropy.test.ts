import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.js';
import { crossEntropy } from './cross-entropy.js';

describe('crossEntropy on the CPU', () => {
  const logits = tensor([0.1, 0.2, 0.3, 1, -1, 0.5], [2, 3]);

  it('names a target outside [0, V) that is not ignoreIndex', () => {
    const targets = tensor([0, 5], [2], { dtype: 'int32' });
    expect(() => crossEntropy(logits, targets)).toThrow(
      /crossEntropy: targets\[1\] \(flat\) is 5, outside \[0, 3\) and not ignoreIndex -100/,
    );
    targets.dispose();
  });

  it("gives NaN for 'mean' when every target is ignored, as PyTorch does", () => {
    const targets = tensor([-100, -100], [2], { dtype: 'int32' });
    const loss = crossEntropy(logits, targets);
    expect(Number.isNaN(loss.dataSync()[0])).toBe(true);
    const sum = crossEntropy(logits, targets, { reduction: 'sum' });
    expect(Array.from(sum.dataSync())).toEqual([0]);
    for (const t of [targets, loss, sum]) t.dispose();
  });
});
