import { registerGradient } from '../autodiff/gradient-registry.js';
import { neg } from './elementwise.js';
import { type RopeAttrs, rope } from './rope.js';

/**
 * RoPE rotates each pair by an angle; its adjoint is the rotation by minus that angle,
 * which is RoPE at negated positions (fround(−p)·f = −(fround(p)·f) exactly). Positions
 * and frequencies are not trained.
 */
export function registerRopeGradients(): void {
  registerGradient<RopeAttrs>('rope', ([dy], { inputs: [, positions, invFreq], attrs }) => [
    rope(dy!, neg(positions!), invFreq!, attrs),
    undefined,
    undefined,
  ]);
}
