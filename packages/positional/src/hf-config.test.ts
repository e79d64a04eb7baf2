import { QkvError, scope, tensor } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { type HfRopeConfigJson, ropeOptionsFromHfConfig } from './hf-config.js';
import { RotaryEmbedding } from './rope.js';
import { ropeInvFreq } from './rope-frequencies.js';

// Field values as published in the models' config.json files.
describe('ropeOptionsFromHfConfig', () => {
  it('Llama 3.1 (llama3 scaling, head from hidden_size / heads)', () => {
    const options = ropeOptionsFromHfConfig({
      model_type: 'llama',
      hidden_size: 4096,
      num_attention_heads: 32,
      max_position_embeddings: 131072,
      rope_theta: 500000,
      rope_scaling: {
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
        rope_type: 'llama3',
      },
    });
    expect(options).toEqual({
      headDim: 128,
      theta: 500000,
      style: 'half',
      scaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 8192,
      },
    });
    expect(ropeInvFreq(options).invFreq).toHaveLength(64);
  });

  it('Phi-3 128k (LongRoPE with the pretrained length at the top level, old "su" name)', () => {
    const short = Array.from({ length: 48 }, () => 1);
    const long = Array.from({ length: 48 }, (_, i) => 1 + i / 4);
    const options = ropeOptionsFromHfConfig({
      model_type: 'phi3',
      hidden_size: 3072,
      num_attention_heads: 32,
      max_position_embeddings: 131072,
      original_max_position_embeddings: 4096,
      rope_theta: 10000,
      rope_scaling: { type: 'su', short_factor: short, long_factor: long },
    });
    expect(options.scaling).toEqual({
      type: 'longrope',
      shortFactor: short,
      longFactor: long,
      originalMaxPositionEmbeddings: 4096,
      maxPositionEmbeddings: 131072,
    });
    expect(ropeInvFreq(options).attentionScaling).toBeCloseTo(
      Math.sqrt(1 + Math.log(32) / Math.log(4096)),
      14,
    );
  });

  it('DeepSeek-V3 (YaRN with mscale on the rotated part of the head)', () => {
    const options = ropeOptionsFromHfConfig({
      model_type: 'deepseek_v3',
      hidden_size: 7168,
      num_attention_heads: 128,
      qk_rope_head_dim: 64,
      max_position_embeddings: 163840,
      rope_theta: 10000,
      rope_scaling: {
        beta_fast: 32,
        beta_slow: 1,
        factor: 40,
        mscale: 1,
        mscale_all_dim: 1,
        original_max_position_embeddings: 4096,
        type: 'yarn',
      },
    });
    const { rotaryDim, attentionScaling } = ropeInvFreq(options);
    expect(rotaryDim).toBe(64);
    expect(attentionScaling).toBe(1); // mscale / mscale_all_dim cancel
    expect(options.style).toBe('interleaved');
  });

  it('DeepSeek pairs (2i, 2i+1): q·k of unit vectors on dim 1 at positions 1 and 0 is cos(1)', () => {
    const config = {
      hidden_size: 7168,
      num_attention_heads: 128,
      qk_rope_head_dim: 64,
      rope_theta: 10000,
      max_position_embeddings: 4096,
    };
    // Dim 1 pairs with dim 0 at frequency 1 when interleaved; with dim 33 at 10000^(-2/64)
    // (cos 0.75 = 0.7317) when rotating halves.
    const score = (json: HfRopeConfigJson) =>
      scope(() => {
        const rotary = new RotaryEmbedding(ropeOptionsFromHfConfig(json));
        const unit = tensor(
          Array.from({ length: 64 }, (_, i) => Number(i === 1)),
          [1, 64],
        );
        const q = rotary.apply(unit, { positions: [1] }).dataSync();
        const k = rotary.apply(unit, { positions: [0] }).dataSync();
        rotary.dispose();
        let dot = 0;
        for (let i = 0; i < 64; i++) dot += q[i]! * k[i]!;
        return dot;
      });
    expect(score({ ...config, model_type: 'deepseek_v3' })).toBeCloseTo(Math.cos(1), 6);
    expect(score({ ...config, model_type: 'deepseek_v2' })).toBeCloseTo(Math.cos(1), 6);
    expect(score({ ...config, model_type: 'deepseek_v3', rope_interleave: false })).toBeCloseTo(
      Math.cos(10000 ** (-2 / 64)),
      6,
    );
    // Any model that sets the flag gets it.
    expect(
      ropeOptionsFromHfConfig({ ...config, model_type: 'llama', rope_interleave: true }).style,
    ).toBe('interleaved');
    expect(() =>
      ropeOptionsFromHfConfig({ ...config, rope_interleave: 'yes' as unknown as boolean }),
    ).toThrow('ropeOptionsFromHfConfig: rope_interleave must be true or false, got "yes"');
  });

  it('gpt-oss (YaRN without truncation) in the v5 rope_parameters form', () => {
    const options = ropeOptionsFromHfConfig({
      model_type: 'gpt_oss',
      head_dim: 64,
      max_position_embeddings: 131072,
      rope_parameters: {
        rope_type: 'yarn',
        rope_theta: 150000,
        factor: 32,
        beta_fast: 32,
        beta_slow: 1,
        truncate: false,
        original_max_position_embeddings: 4096,
      },
    });
    expect(options.theta).toBe(150000);
    expect(options.scaling).toMatchObject({ type: 'yarn', truncate: false, factor: 32 });
  });

  it('GPT-J interleaved with rotary_dim, GPT-NeoX partial with rotary_pct', () => {
    const gptj = ropeOptionsFromHfConfig({
      model_type: 'gptj',
      hidden_size: 4096,
      num_attention_heads: 16,
      rotary_dim: 64,
    });
    expect(gptj).toEqual({ rotaryDim: 64, theta: 10000, style: 'interleaved' });
    const neox = new RotaryEmbedding(
      ropeOptionsFromHfConfig({
        model_type: 'gpt_neox',
        hidden_size: 6144,
        num_attention_heads: 64,
        rotary_pct: 0.25,
        rotary_emb_base: 10000,
      }),
    );
    expect([neox.rotaryDim, neox.style]).toEqual([24, 'half']);
  });

  it('rejects unknown rope types and configs without a head size', () => {
    expect(() =>
      ropeOptionsFromHfConfig({ head_dim: 64, rope_scaling: { rope_type: 'mrope' } }),
    ).toThrow(QkvError);
    expect(() =>
      ropeOptionsFromHfConfig({ head_dim: 64, rope_scaling: { rope_type: 'mrope' } }),
    ).toThrow(/rope type 'mrope' is not supported/);
    expect(() => ropeOptionsFromHfConfig({})).toThrow(/needs head_dim, or hidden_size/);
    expect(() =>
      ropeOptionsFromHfConfig({ head_dim: 8, rope_scaling: { rope_type: 'linear', factor: '2' } }),
    ).toThrow(/rope_scaling.factor must be a number, got "2"/);
  });
});
