// The WebAssembly module of @qkv/wasm: raw kernels over linear memory. The host (src/) lays
// out inputs, outputs and scratch above `heapBase()` and calls these; nothing here allocates.
export { attentionHead, attentionScratchBytes } from './attention';
export { blockSparseHead } from './block-sparse';
export { blockSparseBackwardBlock } from './block-sparse-backward';
export { matmul, matmulScratchBytes } from './matmul';
export { normRows, softmaxRows } from './rows';

/** First byte the host may use: everything below holds the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}

// The gradient of attention.
export {
  attentionBackwardBlock,
  attentionGradScratchBytes,
  attentionLseHead,
} from './attention-backward';
export { binaryF32, unaryF32 } from './elementwise';
export { setHeadTerms } from './score-terms';
