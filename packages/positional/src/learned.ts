import { gather, type Tensor, tensor } from '@qkv/tensor';
import { fail } from './errors.js';
import { checkIds, checkIdTensor, isIdTensor, type PositionIds } from './positions.js';
import { matrixSizes, type StateDict, takeMatrix } from './state-dict.js';

/** Names GPT-2 checkpoints use for the position table (Hugging Face `GPT2Model.wpe`). */
export const GPT2_POSITION_WEIGHT_NAMES = ['wpe.weight', 'transformer.wpe.weight'] as const;

export interface LearnedPositionalEmbeddingLoadOptions {
  /** Tensor name(s) to look for; default GPT-2's `wpe.weight` / `transformer.wpe.weight`. */
  names?: readonly string[];
  /** Expected table size, checked when given. */
  numPositions?: number;
  dim?: number;
}

/**
 * Learned absolute position embeddings (GPT-2 `wpe`): a `[numPositions, dim]` table whose row
 * p is added to the token embedding at position p. The weight stays owned by the caller.
 */
export class LearnedPositionalEmbedding {
  readonly numPositions: number;
  readonly dim: number;

  constructor(readonly weight: Tensor) {
    [this.numPositions, this.dim] = matrixSizes(
      'LearnedPositionalEmbedding',
      weight,
      'numPositions',
      'dim',
    );
  }

  /** Load the table from a state dict (e.g. `loadSafetensors(bytes).tensors` of GPT-2). */
  static fromStateDict(
    stateDict: StateDict,
    options: LearnedPositionalEmbeddingLoadOptions = {},
  ): LearnedPositionalEmbedding {
    const weight = takeMatrix(
      'LearnedPositionalEmbedding.fromStateDict',
      stateDict,
      options.names ?? GPT2_POSITION_WEIGHT_NAMES,
      { rows: options.numPositions, cols: options.dim, rowsName: 'numPositions', colsName: 'dim' },
    );
    return new LearnedPositionalEmbedding(weight);
  }

  /**
   * Rows of the table: for `positions` (int32 tensor of any shape, or flat host ids) the
   * result is `[...positions.shape, dim]`; without them, `length` rows from `offset`.
   * Host ids past the table throw; ids in a tensor are checked where the host can read them.
   */
  forward(options: { positions?: PositionIds; length?: number; offset?: number } = {}): Tensor {
    const where = 'LearnedPositionalEmbedding.forward';
    const { positions, offset = 0 } = options;
    if (positions !== undefined && isIdTensor(positions)) {
      checkIdTensor(where, positions, this.numPositions);
      return gather(this.weight, positions, 0);
    }
    let values: ArrayLike<number>;
    if (positions !== undefined) values = positions;
    else {
      const length = options.length;
      if (length === undefined || !Number.isInteger(length) || length < 0) {
        fail(where, `give positions, or a non-negative integer length (got ${length})`);
      }
      values = Array.from({ length }, (_, i) => offset + i);
    }
    const { ids } = checkIds(where, values, this.numPositions);
    const idTensor = tensor(ids, [ids.length], { dtype: 'int32', device: this.weight.device });
    try {
      return gather(this.weight, idTensor, 0);
    } finally {
      idTensor.dispose();
    }
  }
}
