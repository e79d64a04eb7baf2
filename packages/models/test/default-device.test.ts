import { cpu, getDefaultDevice, setDefaultDevice } from '@qkv/tensor';
import { createWasmDevice, sharedWasmDevice } from '@qkv/wasm';
import { afterEach, describe, expect, test } from 'vitest';
import { loadModel } from '../src/index.js';
import { FIXTURES } from './helpers.js';

// Which device loadModel picks when given none: the fast CPU device unless the user chose a
// default device; the reference CPU backend only when passed.

describe('loadModel without a device', () => {
  const initial = getDefaultDevice();
  afterEach(() => setDefaultDevice(initial));

  test('runs on the shared fast CPU device, threaded in Node', async () => {
    expect(initial.backend).toBe('cpu');
    const model = await loadModel(`${FIXTURES}gpt2`);
    try {
      const wasm = await sharedWasmDevice();
      expect(model.device).toBe(wasm);
      expect(wasm.name).toMatch(/^wasm \(SIMD, \d+ threads?\)$/);
      const out = model.forward([[1, 2, 3]]);
      expect(out.lastHiddenState.device).toBe(wasm);
      expect(out.logits!.device).toBe(wasm);
      out.lastHiddenState.dispose();
      out.logits!.dispose();
    } finally {
      model.dispose();
    }
  });

  test('the reference CPU backend when passed', async () => {
    const model = await loadModel(`${FIXTURES}gpt2`, { device: cpu() });
    expect(model.device).toBe(cpu());
    model.dispose();
  });

  test('a default device the user chose', async () => {
    // A device of its own, so picking the shared one instead would show.
    const chosen = await createWasmDevice({ threads: 1 });
    setDefaultDevice(chosen);
    const model = await loadModel(`${FIXTURES}gpt2`);
    expect(model.device).toBe(chosen);
    expect(model.device).not.toBe(await sharedWasmDevice());
    model.dispose();
    chosen.dispose();
  });
});
