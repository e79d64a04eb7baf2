import { describe, expect, it } from 'vitest';
import { tensor } from './creation.js';
import { liveTensors } from './lifetime.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';

/** Build a file by hand from a header object and raw data bytes, per the format spec. */
function file(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips every dtype with metadata', async () => {
    const tensors = {
      'w.f32': tensor([1.5, -2, 3.25, 4], [2, 2]),
      'w.f16': tensor([0.5, 65504, -1e-3], [3], { dtype: 'float16' }),
      ids: tensor([-7, 2147483647], [2], { dtype: 'int32' }),
      big: tensor([4294967295], [1], { dtype: 'uint32' }),
      mask: tensor([true, false, true], [1, 3]),
      scalar: tensor(3),
    };
    const bytes = await saveSafetensors(tensors, { format: 'pt' });
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
    const loaded = loadSafetensors(bytes);
    expect(loaded.metadata).toEqual({ format: 'pt' });
    for (const [name, t] of Object.entries(tensors)) {
      const back = loaded.tensors[name]!;
      expect(back.shape, name).toEqual(t.shape);
      expect(back.dtype, name).toBe(t.dtype);
      expect([...(await back.data())], name).toEqual([...(await t.data())]);
      back.dispose();
      t.dispose();
    }
  });

  it('reads F32, BF16 and U8 written by another writer', () => {
    const data = new Uint8Array(4 + 4 + 2);
    const view = new DataView(data.buffer);
    view.setFloat32(0, -0.25, true);
    view.setUint16(4, 0x3f80, true); // bf16 1.0
    view.setUint16(6, 0xc040, true); // bf16 -3.0
    data.set([1, 0], 8);
    const bytes = file(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
        c: { dtype: 'U8', shape: [2], data_offsets: [8, 10] },
      },
      data,
    );
    const { tensors } = loadSafetensors(bytes);
    expect([...tensors.a!.dataSync()]).toEqual([-0.25]);
    expect(tensors.b!.dtype).toBe('float32');
    expect([...tensors.b!.dataSync()]).toEqual([1, -3]);
    expect([...tensors.c!.dataSync()]).toEqual([1, 0]);
    for (const t of Object.values(tensors)) t.dispose();
  });

  it('rejects malformed and truncated files with the reason, leaking nothing', () => {
    const before = liveTensors();
    expect(() => loadSafetensors(new Uint8Array(3))).toThrow(
      /shorter than the 8-byte header length/,
    );
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setBigUint64(0, 1000n, true);
    expect(() => loadSafetensors(huge)).toThrow(/header length 1000 runs past the end/);
    const notJson = file({}, new Uint8Array());
    notJson[8] = 0x7b + 1;
    expect(() => loadSafetensors(notJson)).toThrow(/header is not valid UTF-8 JSON/);
    const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    expect(() =>
      loadSafetensors(file({ ok, bad: { ...ok, dtype: 'F64' } }, new Uint8Array(8))),
    ).toThrow(/tensor "bad": dtype "F64" is not supported/);
    expect(() => loadSafetensors(file({ t: { ...ok, shape: [3] } }, new Uint8Array(8)))).toThrow(
      /tensor "t": shape \[3\] F32 needs 12 bytes but data_offsets span 8/,
    );
    expect(() => loadSafetensors(file({ t: ok }, new Uint8Array(4)))).toThrow(
      /only 4 data bytes \(truncated\?\)/,
    );
    expect(() =>
      loadSafetensors(
        file({ t: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array([7])),
      ),
    ).toThrow(/loads U8 only as bool/);
    expect(liveTensors()).toBe(before);
  });
});
