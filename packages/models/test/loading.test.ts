import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectClose } from '@qkv/conformance';
import { cast, loadSafetensors, QkvError, saveSafetensors, type Tensor, tensor } from '@qkv/tensor';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LoadProgress, loadModel, type Model } from '../src/index.js';
import { expected, expectNoLeaks, FIXTURES, TOLERANCE } from './helpers.js';

// Sources (directory, in-memory record, Blob, URL), progress, and the errors of a bad
// checkpoint, each of which must leave nothing allocated.

const files = (dir: string): Record<string, Uint8Array> =>
  Object.fromEntries(
    readdirSync(`${FIXTURES}${dir}`).map((f) => [
      f,
      new Uint8Array(readFileSync(`${FIXTURES}${dir}/${f}`)),
    ]),
  );
const gpt2 = expected('gpt2');
const ids = gpt2.inputIds;

async function expectReferenceLogits(model: Model): Promise<void> {
  const out = model.forward(ids);
  try {
    expectClose(await out.logits!.data(), gpt2.cases[0]!.logits!.data, TOLERANCE, 'logits');
  } finally {
    out.logits!.dispose();
    out.lastHiddenState.dispose();
  }
}

/** A copy of gpt2/model.safetensors with `edit` applied to its tensors (run on the CPU). */
async function editedGpt2(edit: (t: Record<string, Tensor>) => void): Promise<Uint8Array> {
  const { tensors } = loadSafetensors(readFileSync(`${FIXTURES}gpt2/model.safetensors`));
  edit(tensors);
  const bytes = await saveSafetensors(tensors);
  for (const t of Object.values(tensors)) t.dispose();
  return bytes;
}

expectNoLeaks();

describe('sources', () => {
  test('a record of ArrayBuffers and one of Blobs load like the directory', async () => {
    const record = files('gpt2');
    for (const source of [
      Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v.slice().buffer])),
      Object.fromEntries(Object.entries(record).map(([k, v]) => [k, new Blob([v.slice()])])),
    ]) {
      const model = await loadModel(source);
      await expectReferenceLogits(model);
      expect(model.tokenizer?.decode(model.tokenizer.encode(' the cat').ids)).toBe(' the cat');
      model.dispose();
    }
  });

  test('F16 weights load widened to float32', async () => {
    const bytes = await editedGpt2((ts) => {
      for (const [k, t] of Object.entries(ts)) {
        ts[k] = cast(t, 'float16');
        t.dispose();
      }
    });
    const model = await loadModel({ ...files('gpt2'), 'model.safetensors': bytes });
    const out = model.forward(ids);
    // Weights rounded to half precision move the logits by far more than 1e-4, far less than 0.05.
    expectClose(
      await out.logits!.data(),
      gpt2.cases[0]!.logits!.data,
      { atol: 0.05, rtol: 0.05 },
      'f16 logits',
    );
    out.logits!.dispose();
    out.lastHiddenState.dispose();
    model.dispose();
  });

  describe('a hub-like URL on a local server', () => {
    let server: Server;
    let base: string;
    let requests: string[] = [];
    beforeAll(async () => {
      // /<org>/<repo>/resolve/main/<file>, sent in small chunks without a Content-Length.
      server = createServer((req, res) => {
        requests.push(req.url ?? '');
        const m = /^\/qkv\/(tiny-[a-z0-9-]+)\/resolve\/main\/([\w.-]+)$/.exec(req.url ?? '');
        const dir =
          m &&
          { 'tiny-gpt2': 'gpt2', 'tiny-gpt2-sharded': 'gpt2-sharded', 'tiny-truncated': 'gpt2' }[
            m[1]!
          ];
        let body: Uint8Array | undefined;
        try {
          body = dir ? new Uint8Array(readFileSync(`${FIXTURES}${dir}/${m![2]}`)) : undefined;
        } catch {
          body = undefined;
        }
        if (!body) {
          res.writeHead(404).end();
          return;
        }
        if (m![1] === 'tiny-truncated' && m![2] === 'model.safetensors')
          body = body.subarray(0, body.length - 1000);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let at = 0; at < body.length; at += 4096) res.write(body.subarray(at, at + 4096));
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/qkv`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('single file and sharded, with progress', async () => {
      for (const repo of ['tiny-gpt2', 'tiny-gpt2-sharded']) {
        requests = [];
        const progress: LoadProgress[] = [];
        const model = await loadModel(`${base}/${repo}/resolve/main`, {
          onProgress: (p) => progress.push(p),
        });
        await expectReferenceLogits(model);
        const last = progress[progress.length - 1]!;
        expect(last.loadedTensors).toBe(last.totalTensors);
        const shards =
          repo === 'tiny-gpt2'
            ? ['model.safetensors']
            : ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
        for (const shard of shards) {
          const size = readFileSync(
            `${FIXTURES}${repo === 'tiny-gpt2' ? 'gpt2' : 'gpt2-sharded'}/${shard}`,
          ).length;
          const seen = progress.filter((p) => p.file === shard);
          expect(seen.length, shard).toBeGreaterThan(1);
          expect(Math.max(...seen.map((p) => p.loadedBytes))).toBe(size);
        }
        expect(requests).toContain(`/qkv/${repo}/resolve/main/config.json`);
        model.dispose();
      }
    });

    test('a truncated download fails naming the file and the tensor, leaving nothing', async () => {
      await expect(loadModel(`${base}/tiny-truncated/resolve/main`)).rejects.toThrow(
        /model\.safetensors: tensor "[^"]+" needs bytes up to \d+ but the file ends at byte \d+ \(truncated\?\)/,
      );
    });

    test('a missing repository says which file was not found', async () => {
      await expect(loadModel(`${base}/tiny-nothing/resolve/main`)).rejects.toThrow(
        /no config\.json at http:\/\/127\.0\.0\.1:\d+\/qkv\/tiny-nothing/,
      );
    });
  });
});

describe('a bad checkpoint fails clearly and leaves nothing allocated', () => {
  const withWeights = async (bytes: Uint8Array, config?: object) =>
    loadModel({
      ...files('gpt2'),
      'model.safetensors': bytes,
      ...(config ? { 'config.json': new TextEncoder().encode(JSON.stringify(config)) } : {}),
    });
  const gpt2Config = JSON.parse(readFileSync(`${FIXTURES}gpt2/config.json`, 'utf8'));

  test('a missing tensor', async () => {
    const bytes = await editedGpt2((ts) => {
      ts['transformer.h.1.mlp.c_proj.bias']!.dispose();
      delete ts['transformer.h.1.mlp.c_proj.bias'];
    });
    await expect(withWeights(bytes)).rejects.toThrow(
      /model\.safetensors lack 1 tensor\(s\) a gpt2 model .* needs: h\.1\.mlp\.c_proj\.bias/,
    );
  });

  test('a shape that does not match the config', async () => {
    const bytes = await editedGpt2((ts) => {
      ts['transformer.ln_f.weight']!.dispose();
      ts['transformer.ln_f.weight'] = tensor(new Float32Array(23).fill(1), [23]);
    });
    await expect(withWeights(bytes)).rejects.toThrow(
      'model.safetensors: tensor "transformer.ln_f.weight" has shape [23] but config.json implies [24]',
    );
  });

  test('a dtype that is not a float', async () => {
    const bytes = await editedGpt2((ts) => {
      ts['transformer.wpe.weight']!.dispose();
      ts['transformer.wpe.weight'] = tensor(new Int32Array(32 * 24), [32, 24], { dtype: 'int32' });
    });
    await expect(withWeights(bytes)).rejects.toThrow(
      'tensor "transformer.wpe.weight" is I32; expected F32, F16 or BF16 weights',
    );
  });

  test('an unknown model_type and a malformed config field', async () => {
    const bytes = files('gpt2')['model.safetensors']!;
    await expect(withWeights(bytes, { ...gpt2Config, model_type: 'gpt_neox' })).rejects.toThrow(
      /config\.json: model_type "gpt_neox" is not supported \(supported: gpt2, llama, mistral, qwen2, bert\)/,
    );
    await expect(withWeights(bytes, { ...gpt2Config, n_head: 'three' })).rejects.toThrow(
      'config.json (gpt2): "n_head" must be a positive integer, got "three"',
    );
  });

  test('a truncated file with a known size', async () => {
    const bytes = files('gpt2')['model.safetensors']!;
    await expect(withWeights(bytes.subarray(0, bytes.length - 10))).rejects.toThrow(
      /model\.safetensors: loadSafetensors: tensor "[^"]+": data ends at byte \d+ but the file has only \d+ data bytes \(truncated\?\)/,
    );
    await expect(withWeights(bytes.subarray(0, 5))).rejects.toThrow(
      'model.safetensors: the 8-byte header length needs bytes up to 8 but the file ends at byte 5 (truncated?)',
    );
  });

  test('errors are QkvErrors', async () => {
    await expect(loadModel({})).rejects.toBeInstanceOf(QkvError);
  });
});
