// @qkv/models: Hugging Face transformers on qkv. loadModel streams a checkpoint (directory,
// URL or in-memory files) into GPT-2, Llama / Mistral / Qwen2 or BERT; a Model runs forward
// (logits, hidden states, per-layer attention) and generates with a KV cache.

export type {
  Architecture,
  ConfigJson,
  Network,
  NetworkOutput,
} from './architectures/architecture.js';
export { SUPPORTED_MODEL_TYPES } from './architectures/registry.js';
export { type LoadModelOptions, type LoadProgress, loadModel } from './load/load-model.js';
export type { ModelSource } from './load/sources.js';
export {
  type ForwardOptions,
  type GenerateOptions,
  Model,
  type ModelOutput,
  type TokenIds,
} from './model.js';
export { type LayerKv, ModelCache } from './model-cache.js';
export { argmax, type SamplingOptions, sampleToken } from './sampling.js';
