import {
  type Device,
  type DType,
  debugFlags,
  liveTensors,
  Random,
  roundToFloat16,
  type Shape,
  type Tensor,
  tensor,
} from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { type Tolerance, toleranceFor } from './compare.js';

export interface RandomInput {
  t: Tensor;
  /** The values the tensor holds (already rounded to its dtype), for references. */
  values: number[];
}

/** What each conformance case gets: the device under test and helpers that clean up after it. */
export interface CaseContext {
  readonly device: Device;
  readonly backend: string;
  /** Runs for fast-check properties; slow backends ask for fewer. */
  readonly propertyRuns: number;
  tol(dtype: DType): Tolerance;
  /** Seeded uniform values in [low, high), as a tensor on the device (disposed after the case). */
  random(
    shape: Shape,
    options?: { seed?: number; dtype?: DType; low?: number; high?: number },
  ): RandomInput;
  /** A tensor on the device from host values (disposed after the case). */
  tensor(values: readonly number[] | readonly boolean[], shape: Shape, dtype?: DType): Tensor;
  /** Read a result back as plain numbers and dispose it. */
  read(t: Tensor): Promise<number[]>;
}

export type ConformanceCase = (ctx: CaseContext) => Promise<void> | void;
export type CaseGroup = Record<string, ConformanceCase>;

export interface ConformanceOptions {
  /** `group/case` → why this backend does not run it. Printed in the skipped test's name. */
  exclude?: Record<string, string>;
  propertyRuns?: number;
  /** Wrap each case, e.g. in a WebGPU validation error scope. */
  around?: (device: Device, run: () => Promise<void>) => Promise<void>;
}

function roundTo(dtype: DType, v: number): number {
  if (dtype === 'float16') return roundToFloat16(v);
  if (dtype === 'float32') return Math.fround(v);
  return v;
}

function makeContext(device: Device, options: ConformanceOptions, owned: Tensor[]): CaseContext {
  let seedCounter = 1;
  return {
    device,
    backend: device.backend,
    propertyRuns: options.propertyRuns ?? 25,
    tol: toleranceFor,
    random(shape, { seed = seedCounter++ * 7919, dtype = 'float32', low = -1, high = 1 } = {}) {
      const rng = new Random(seed);
      const count = shape.reduce((p, d) => p * d, 1);
      const values = Array.from({ length: count }, () => {
        const v = low + (high - low) * rng.nextFloat();
        return dtype === 'int32' || dtype === 'uint32' ? Math.floor(v) : roundTo(dtype, v);
      });
      const t = tensor(values, shape, { dtype, device });
      owned.push(t);
      return { t, values };
    },
    tensor(values, shape, dtype) {
      const t = tensor(values, shape, { device, ...(dtype ? { dtype } : {}) });
      owned.push(t);
      return t;
    },
    async read(t) {
      try {
        return Array.from(await t.data());
      } finally {
        t.dispose();
      }
    },
  };
}

/**
 * Register every conformance group for one backend. Each case runs with outputs poisoned,
 * inside `options.around`, and must leave as many live tensors and device buffers as it
 * found.
 */
export function describeConformance(
  backend: string,
  makeDevice: () => Device | Promise<Device>,
  groups: Record<string, CaseGroup>,
  options: ConformanceOptions = {},
): void {
  let devicePromise: Promise<Device> | undefined;
  describe(`conformance on ${backend}`, () => {
    for (const [groupName, cases] of Object.entries(groups)) {
      describe(groupName, () => {
        for (const [caseName, run] of Object.entries(cases)) {
          const reason = options.exclude?.[`${groupName}/${caseName}`];
          if (reason) {
            it.skip(`${caseName} (excluded on ${backend}: ${reason})`, () => {});
            continue;
          }
          it(caseName, async () => {
            devicePromise ??= Promise.resolve(makeDevice());
            const device = await devicePromise;
            const tensorsBefore = liveTensors();
            const buffersBefore = device.liveBuffers();
            const owned: Tensor[] = [];
            debugFlags.poisonOutputs = true;
            try {
              const body = async () => {
                await run(makeContext(device, options, owned));
              };
              await (options.around ? options.around(device, body) : body());
            } finally {
              debugFlags.poisonOutputs = false;
              for (const t of owned) t.dispose();
            }
            expect(liveTensors(), 'live tensors after the case').toBe(tensorsBefore);
            expect(device.liveBuffers(), 'live device buffers after the case').toBe(buffersBefore);
          });
        }
      });
    }
  });
}
