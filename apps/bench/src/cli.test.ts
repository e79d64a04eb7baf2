import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attentionPath } from '@qkv/kernels';
import { cpu, type Device, liveTensors } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { type CliIo, main } from './cli.js';
import { silentProgress } from './progress.js';
import { parseResult, resultProblems } from './result.js';

function io(extra: Partial<CliIo> = {}) {
  const stdout: string[] = [];
  const progress = silentProgress();
  return { io: { stdout: (t: string) => stdout.push(t), progress, ...extra }, stdout, progress };
}

const dir = mkdtempSync(join(tmpdir(), 'qkv-bench-'));

describe('qkv-bench run --quick', () => {
  it('measures qkv and onnxruntime-node on every case (after checking they agree) and writes a valid result', async () => {
    const out = join(dir, 'quick.json');
    const before = liveTensors();
    const t = io();
    const suites = ['matmul', 'softmax', 'attention'];
    const code = await main(['run', '--quick', '--suite', suites.join(), '--out', out], t.io);
    expect(code).toBe(0);
    expect(liveTensors()).toBe(before);

    const json = JSON.parse(readFileSync(out, 'utf8'));
    expect(resultProblems(json)).toEqual([]);
    const result = parseResult(JSON.stringify(json));
    expect(result.options).toMatchObject({ quick: true, device: 'cpu', suites });
    expect(result.environment.node).toBe(process.version);
    expect(result.environment.packages['@qkv/tensor']).toBe('0.1.0');
    expect(result.environment.packages['onnxruntime-node']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(result.environment.git?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(result.environment.device).toMatchObject({ kind: 'cpu', backend: 'cpu' });
    expect(result.errors).toEqual([]);

    for (const suite of suites) {
      const ms = result.measurements.filter((m) => m.suite === suite);
      const qkv = ms.filter((m) => m.name === 'qkv');
      const ort = ms.filter((m) => m.name === 'onnxruntime-node');
      expect(qkv.length).toBeGreaterThanOrEqual(2);
      expect(ort.map((m) => m.params)).toEqual(qkv.map((m) => m.params));
      for (const m of ms) {
        expect(m.samplesMs.length).toBeGreaterThanOrEqual(2);
        expect(m.medianMs).toBeGreaterThan(0);
        expect(suite === 'softmax' ? m.mbPerSec : m.tflops).toBeGreaterThan(0);
      }
    }
    // The printed table has a row per measurement and, on the peer rows, where qkv stands
    // in words; then each line's log-log slope, then the summary.
    const [table, slopes, summary] = t.stdout.join('\n').split('\n\n') as [string, string, string];
    // The CPU records no memory: no empty column for it.
    expect(table.split('\n')[0]).toMatch(/^case +name +median +MAD +min +rate +qkv against it$/);
    expect(summary).toMatch(
      /^summary:\nmatmul\n {2}against onnxruntime-node: qkv is [\d.]+x (slower|faster)/,
    );
    expect(summary).toMatch(/^ {2}against its own path "qkv materialised": qkv is /m);
    expect(slopes).toMatch(/^suite +line +x +points +log-log slope$/m);
    expect(slopes).toMatch(/^attention +qkv D=64 causal +seqLen +2 +-?\d+\.\d\d$/m);
    expect(table.split('\n').filter((l) => l.includes('onnxruntime-node'))).toHaveLength(
      result.measurements.filter((m) => m.name === 'onnxruntime-node').length,
    );
    // Attention also times the materialised form next to the fused op.
    expect(result.measurements.filter((m) => m.name === 'qkv materialised').length).toBe(
      result.measurements.filter((m) => m.suite === 'attention' && m.name === 'qkv').length,
    );
    expect(table).toMatch(/onnxruntime-node .* qkv is \d[\d.]*x (slower|faster)$/m);
  });

  it('prints the change against an earlier run with --compare', async () => {
    const first = join(dir, 'first.json');
    await main(['--quick', '--suite', 'softmax', '--out', first], io().io);
    const t = io();
    await main(['--quick', '--suite', 'softmax', '--compare', first], t.io);
    expect(t.stdout.join('\n')).toMatch(/against first:\n.*after is/);
    expect(t.stdout.join('\n')).toMatch(
      /softmax rows=7 cols=7 elements=49 +qkv .*(as fast|x faster|x slower)$/m,
    );
    expect(t.stdout.join('\n')).toMatch(/^ {2}qkv since first: /m);
  });

  it('rejects unknown suites and devices by name', async () => {
    await expect(main(['--suite', 'nope'], io().io)).rejects.toThrow(
      /unknown suite "nope" \(known: peak, matmul, softmax/,
    );
    await expect(main(['--device', 'tpu'], io().io)).rejects.toThrow(
      /--device must be cpu or wasm or webgpu/,
    );
  });

  it('runs a suite on the WebAssembly device with --device wasm', async () => {
    const out = join(dir, 'wasm.json');
    await main(['--quick', '--device', 'wasm', '--suite', 'softmax', '--out', out], io().io);
    const result = parseResult(readFileSync(out, 'utf8'));
    expect(result.environment.device).toMatchObject({ kind: 'wasm', backend: 'wasm' });
    expect(result.measurements.filter((m) => m.name === 'qkv').length).toBeGreaterThan(0);
  });

  it('runs the cpu-peers suite: every CPU path on the same cases, checked against each other', async () => {
    const out = join(dir, 'cpu-peers.json');
    await main(['--quick', '--suite', 'cpu-peers', '--out', out], io().io);
    const result = parseResult(readFileSync(out, 'utf8'));
    const names = new Set(result.measurements.map((m) => m.name));
    expect(names).toEqual(
      new Set([
        'qkv wasm',
        'qkv wasm 2t',
        'qkv cpu',
        'onnxruntime-web',
        'onnxruntime-node',
        'onnxruntime-node 2t',
      ]),
    );
    // One matmul and two attention cases (full and causal), each timed on every path.
    expect(result.measurements).toHaveLength(3 * 6);
  });

  it('runs a suite on the WebGPU backend and records the adapter', async () => {
    const out = join(dir, 'gpu.json');
    const code = await main(
      ['--quick', '--device', 'webgpu', '--suite', 'softmax', '--out', out],
      io().io,
    );
    expect(code).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    expect(resultProblems(json)).toEqual([]);
    expect(json.environment.device).toMatchObject({ kind: 'webgpu', backend: 'webgpu' });
    expect(json.errors).toEqual([]);
    expect(
      json.measurements.filter((m: { name: string }) => m.name === 'qkv').length,
    ).toBeGreaterThan(0);
  });

  it('times the decode suite on both WebGPU attention paths and records their peak GPU memory', async () => {
    const out = join(dir, 'gpu-decode.json');
    const code = await main(
      ['--quick', '--device', 'webgpu', '--suite', 'peak,decode', '--out', out],
      io().io,
    );
    expect(code).toBe(0);
    const result = parseResult(readFileSync(out, 'utf8'));
    expect(result.errors).toEqual([]);
    const [peak] = result.measurements.filter((m) => m.suite === 'peak');
    expect(peak).toMatchObject({ name: 'fma-chains', params: { backend: 'webgpu' } });
    expect(peak!.tflops).toBeGreaterThan(0);
    const decode = result.measurements.filter((m) => m.suite === 'decode');
    const fused = decode.filter((m) => m.name === 'qkv fused');
    expect(fused.map((m) => m.params)).toEqual(
      decode.filter((m) => m.name === 'qkv decode').map((m) => m.params),
    );
    expect(new Set(fused.map((m) => m.params.kvHeads))).toEqual(new Set([8, 1]));
    for (const m of decode) {
      // At least Q, K, V and the output: K and V dominate, 2 · kvHeads · S · D floats.
      const kv = 4 * 2 * Number(m.params.kvHeads) * Number(m.params.cached) * 128;
      expect(m.peakBytes).toBeGreaterThanOrEqual(kv);
      expect(m.peakBytes).toBeLessThan(16 * kv + (1 << 20));
    }
    // The forced paths are undone: a single query takes the decode path again.
    expect(attentionPath({ queryLength: 1 })).toBe('decode');
    expect(attentionPath({ queryLength: 64 })).toBe('fused');
  });

  it('records adapter info, features and limits of a WebGPU device and waits on it', async () => {
    // A stand-in device that computes with the CPU kernels but carries WebGPU handles.
    let syncs = 0;
    const base = cpu();
    const fake: Device & Record<string, unknown> = {
      ...base,
      upload: base.upload.bind(base),
      read: base.read.bind(base),
      readSync: base.readSync?.bind(base),
      release: base.release.bind(base),
      liveBuffers: base.liveBuffers.bind(base),
      name: 'webgpu (Test Adapter)',
      gpuDevice: {
        features: new Set(['timestamp-query', 'subgroups']),
        limits: { maxComputeInvocationsPerWorkgroup: 256, maxBufferSize: 1 << 28 },
        adapterInfo: { vendor: 'test', architecture: 'none', description: 'Test Adapter' },
      },
      sync: async () => {
        syncs++;
      },
    };
    const out = join(dir, 'fake-gpu.json');
    const kernels = { createWebGPUDevice: () => fake };
    const code = await main(
      ['--quick', '--device', 'webgpu', '--suite', 'softmax', '--out', out],
      io({ kernels }).io,
    );
    expect(code).toBe(0);
    const result = parseResult(readFileSync(out, 'utf8'));
    expect(result.environment.device).toEqual({
      kind: 'webgpu',
      name: 'webgpu (Test Adapter)',
      backend: 'cpu',
      adapter: { vendor: 'test', architecture: 'none', description: 'Test Adapter' },
      features: ['subgroups', 'timestamp-query'],
      limits: { maxComputeInvocationsPerWorkgroup: 256, maxBufferSize: 1 << 28 },
    });
    const qkvCalls = result.measurements
      .filter((m) => m.name === 'qkv')
      .reduce((n, m) => n + m.samplesMs.length + result.options.warmup, 0);
    expect(syncs).toBe(qkvCalls);
  });
});
