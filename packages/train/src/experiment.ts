import type { TransformerConfig } from './transformer.js';

/**
 * The induction-head experiment (Olsson et al. 2022, "In-context Learning and Induction
 * Heads") at the size the explorer's Train view and this package's test run: a 2-layer
 * attention-only transformer with d_model 64 and context 64. Vocabulary 64: a token of a
 * random half of 32 has an earlier twin in the half with probability 21% on average (where
 * copying from the last occurrence is ambiguous), as with vocabulary 32 and context 32.
 */
export const INDUCTION_CONFIG: TransformerConfig = {
  vocabSize: 64,
  dModel: 64,
  numHeads: 4,
  numLayers: 2,
  contextLength: 64,
};

/** How the experiment trains `INDUCTION_CONFIG`; the measured runs are in its test. */
export const INDUCTION_TRAINING = {
  /** Rows per AdamW step. */
  batch: 16,
  /** AdamW's learning rate (no weight decay, no schedule). */
  lr: 1e-2,
  /**
   * Embedding standard deviation: large enough that q·k is not near zero at the start, which
   * avoids the long plateau an attention-only model sits on with GPT-2's 0.02.
   */
  embedStd: 0.3,
  /**
   * Shortest repeated segment of a training row (`repeatedSequences`' `minPeriod`): varying
   * periods leave no fixed offset to copy from by position alone.
   */
  minPeriod: 3,
  /** Steps after which the induction head has formed for every seed measured. */
  steps: 400,
  /**
   * The probe the scores and losses are measured on: rows whose second half repeats the
   * first, from `repeatedSequences` with a generator of this seed, whatever the run's seed.
   */
  probeSeed: 99,
  probeRows: 16,
} as const;

/**
 * Targets `[B, T - 1]` for `languageModelLoss` that count only positions j >= T/2 + 1 of
 * rows `[B, T]` whose second half repeats the first: the tokens an induction head can
 * predict (the rest are -100, left out of the mean).
 */
export function repeatedHalfTargets(tokens: ArrayLike<number>, length: number): Int32Array {
  const batch = tokens.length / length;
  const out = new Int32Array(batch * (length - 1)).fill(-100);
  for (let b = 0; b < batch; b++) {
    for (let j = length / 2 + 1; j < length; j++) {
      out[b * (length - 1) + j - 1] = tokens[b * length + j]!;
    }
  }
  return out;
}

/**
 * Scores past which the best head counts as formed at this size (`headScores` on the probe):
 * the previous-token score of layer 0 and the induction score of layer 1, about halfway
 * between the untrained and the trained spread over the seeds measured in this package's
 * induction-experiment test, so a run fails them when the circuit does not form, not on
 * rounding.
 */
export const INDUCTION_FORMED = { previousToken: 0.2, induction: 0.25 } as const;
