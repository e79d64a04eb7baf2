import { sumToShape } from '../autodiff/broadcast.js';
import { registerGradient } from '../autodiff/gradient-registry.js';
import { type MatmulAttrs, matmul } from './matmul.js';

/**
 * y = A·B with A = a or aᵀ, B = b or bᵀ: dA = dy·Bᵀ and dB = Aᵀ·dy, each transposed back
 * when the operand was read transposed, then summed over broadcast batch dimensions.
 */
export function registerMatmulGradients(): void {
  registerGradient<MatmulAttrs>('matmul', ([dy], { inputs: [a, b], attrs }) => {
    const { transposeA: tA, transposeB: tB } = attrs;
    const da = tA
      ? matmul(b!, dy!, { transposeA: tB, transposeB: true })
      : matmul(dy!, b!, { transposeB: !tB });
    const db = tB
      ? matmul(dy!, a!, { transposeA: true, transposeB: tA })
      : matmul(a!, dy!, { transposeA: !tA });
    return [sumToShape(da, a!.shape), sumToShape(db, b!.shape)];
  });
}
