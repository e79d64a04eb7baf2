import { registerWebGPUKernels } from './kernels/register-all.js';
import { fail } from './runtime/fail.js';
import { WebGPUDevice } from './runtime/webgpu-device.js';

/** Features enabled whenever the adapter offers them: kernels pick faster paths with them. */
const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/** Limits raised to the adapter's maximum, so large tensors and big tiles fit. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
] as const;

export interface WebGPUDeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** `compatibility` asks for an adapter that may lack some core limits (OpenGL ES). */
  featureLevel?: 'core' | 'compatibility';
  /** Features the device must have; the request fails when the adapter lacks one. */
  requiredFeatures?: readonly GPUFeatureName[];
  /** Turn off the optional features (`shader-f16`, `subgroups`, `timestamp-query`). */
  optionalFeatures?: boolean;
  /** Limits to request; by default the buffer and workgroup limits are the adapter's maximum. */
  requiredLimits?: Record<string, number>;
  /** Node only: Dawn's backend, e.g. `vulkan`, `opengles`, `metal`, `d3d12`, `null`. */
  dawnBackend?: string;
  /** Node only: Dawn toggles to enable and disable (e.g. `disable_robustness`). */
  dawnToggles?: { enable?: readonly string[]; disable?: readonly string[] };
  /** Use this GPU (an object like `navigator.gpu`) instead of finding one. */
  gpu?: GPU;
  /** Dispatches encoded before pending work is submitted unasked (default 64). */
  batchSize?: number;
  /** Poison kernel outputs before each kernel runs (tests; see `WebGPUDeviceSettings`). */
  poison?: boolean;
}

/** Node's `process.platform`, read without assuming Node's types (the package builds for browsers). */
function platform(): string | undefined {
  return (globalThis as { process?: { platform?: string } }).process?.platform;
}

type DawnModule = { create(flags: string[]): GPU };
const dawnInstances = new Map<string, GPU>();

/** `navigator.gpu` in browsers; in Node, a Dawn instance from the optional `webgpu` package. */
async function findGPU(options: WebGPUDeviceOptions): Promise<GPU> {
  if (options.gpu) return options.gpu;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu && !options.dawnBackend && !options.dawnToggles) return nav.gpu;
  const flags: string[] = [];
  if (options.dawnBackend) flags.push(`backend=${options.dawnBackend}`);
  else if (platform() === 'linux') flags.push('backend=vulkan');
  const { enable = [], disable = [] } = options.dawnToggles ?? {};
  if (enable.length > 0) flags.push(`enable-dawn-features=${enable.join(',')}`);
  if (disable.length > 0) flags.push(`disable-dawn-features=${disable.join(',')}`);
  const cacheKey = flags.join(' ');
  const cached = dawnInstances.get(cacheKey);
  if (cached) return cached;
  let dawn: DawnModule;
  try {
    // A variable specifier keeps bundlers for the browser from pulling in the Node addon.
    const name = 'webgpu';
    dawn = (await import(/* @vite-ignore */ name)) as DawnModule;
  } catch (error) {
    fail(
      'createWebGPUDevice',
      `no navigator.gpu here, and the optional peer dependency "webgpu" (Dawn for Node) could not be loaded: install it with \`npm install webgpu\` (${(error as Error).message})`,
    );
  }
  const gpu = dawn.create(flags);
  dawnInstances.set(cacheKey, gpu);
  return gpu;
}

/**
 * A qkv `Device` on WebGPU. The first call registers the WebGPU kernels. Throws a `QkvError`
 * when no adapter is found (in Node without a GPU, see the software adapter tooling).
 */
export async function createWebGPUDevice(options: WebGPUDeviceOptions = {}): Promise<WebGPUDevice> {
  registerWebGPUKernels();
  const gpu = await findGPU(options);
  const adapterOptions: GPURequestAdapterOptions & { featureLevel?: string } = {};
  if (options.powerPreference) adapterOptions.powerPreference = options.powerPreference;
  if (options.featureLevel) adapterOptions.featureLevel = options.featureLevel;
  const adapter = await gpu.requestAdapter(adapterOptions);
  if (!adapter) {
    fail(
      'createWebGPUDevice',
      `no WebGPU adapter found${options.dawnBackend ? ` for Dawn backend "${options.dawnBackend}"` : ''}; without a GPU, run through \`npm test\` (it sets up the SwiftShader software adapter) or set VK_ICD_FILENAMES and LD_LIBRARY_PATH`,
    );
  }
  const features = new Set<GPUFeatureName>(options.requiredFeatures ?? []);
  if (options.optionalFeatures !== false) {
    for (const f of OPTIONAL_FEATURES) if (adapter.features.has(f)) features.add(f);
  }
  const missing = [...features].filter((f) => !adapter.features.has(f));
  if (missing.length > 0) {
    fail('createWebGPUDevice', `the adapter lacks required features: ${missing.join(', ')}`);
  }
  const requiredLimits: Record<string, number> = {};
  const adapterLimits = adapter.limits as unknown as Record<string, number>;
  for (const name of RAISED_LIMITS) {
    if (adapterLimits[name] !== undefined) requiredLimits[name] = adapterLimits[name];
  }
  Object.assign(requiredLimits, options.requiredLimits);
  const gpuDevice = await adapter.requestDevice({
    requiredFeatures: [...features],
    requiredLimits,
  });
  const info = adapter.info;
  const description = [info?.vendor, info?.architecture, info?.description]
    .filter(Boolean)
    .join(' ');
  const languageFeatures = (gpu as { wgslLanguageFeatures?: ReadonlySet<string> })
    .wgslLanguageFeatures;
  return new WebGPUDevice(gpuDevice, {
    subgroupReductions: languageFeatures?.has('subgroup_id') ?? false,
    name: `webgpu (${description || 'adapter'})`,
    poison: options.poison ?? false,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  });
}
