import type { Suite } from '../suite.js';
import { attentionSuite } from './attention.js';
import { cpuPeersSuite } from './cpu-peers.js';
import { decodeSuite } from './decode.js';
import { matmulSuite } from './matmul.js';
import { modelSuite } from './model.js';
import { peakSuite } from './peak.js';
import { positionalSuite } from './positional.js';
import { softmaxSuite } from './softmax.js';
import { sparseSuite } from './sparse.js';
import { tokenizerSuite } from './tokenizer.js';
import { trainSuite } from './train.js';

/**
 * Every suite the CLI knows, in the order a full run takes them. `npm run bench` runs
 * DEFAULT_SUITES.
 */
export const SUITES: readonly Suite[] = [
  peakSuite,
  matmulSuite,
  softmaxSuite,
  attentionSuite,
  decodeSuite,
  positionalSuite,
  sparseSuite,
  tokenizerSuite,
  trainSuite,
  cpuPeersSuite,
  modelSuite,
];

// Whole models take minutes on a CPU: `--suite model` runs them.
export const DEFAULT_SUITES: readonly string[] = SUITES.filter((s) => s !== modelSuite).map(
  (s) => s.name,
);

export function findSuites(names: readonly string[]): Suite[] {
  return names.map((name) => {
    const suite = SUITES.find((s) => s.name === name);
    if (!suite) {
      const known = SUITES.map((s) => s.name).join(', ');
      throw new Error(`bench: unknown suite "${name}" (known: ${known})`);
    }
    return suite;
  });
}
