import { ShaderStage } from './gpu-constants.js';

/** Compiled pipelines per GPUDevice; a lost or collected device frees its entry. */
const caches = new WeakMap<GPUDevice, Map<string, CachedPipeline>>();

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/**
 * The pipeline for `key`, compiling `source()` on first use. The key must name every
 * specialisation the source depends on (op, dtypes, rank, tile sizes, features), because
 * it alone decides whether a cached pipeline is reused. Bindings are `bindingCount`
 * read-only storage buffers, then one writable output, then the read-only parameter words.
 */
export function getPipeline(
  device: GPUDevice,
  key: string,
  bindings: readonly GPUBufferBindingType[],
  source: () => string,
): CachedPipeline {
  let cache = caches.get(device);
  if (!cache) caches.set(device, (cache = new Map()));
  const hit = cache.get(key);
  if (hit) return hit;
  const layout = device.createBindGroupLayout({
    label: key,
    entries: bindings.map((type, binding) => ({
      binding,
      visibility: ShaderStage.COMPUTE,
      buffer: { type },
    })),
  });
  const module = device.createShaderModule({ label: key, code: source() });
  const pipeline = device.createComputePipeline({
    label: key,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: 'main' },
  });
  const entry = { pipeline, layout };
  cache.set(key, entry);
  return entry;
}

/** How many pipelines `device` has compiled (tests check that keys are reused). */
export function pipelineCount(device: GPUDevice): number {
  return caches.get(device)?.size ?? 0;
}
