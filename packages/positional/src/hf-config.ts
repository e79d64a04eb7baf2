import { fail } from './errors.js';
import type { RotaryEmbeddingOptions } from './rope.js';
import type { RopeScaling } from './rope-frequencies.js';

/** The fields of a Hugging Face `config.json` that decide a model's rotary embedding. */
export interface HfRopeConfigJson {
  model_type?: string;
  hidden_size?: number;
  num_attention_heads?: number;
  head_dim?: number;
  /** DeepSeek-V2 / V3: only this part of each head rotates. */
  qk_rope_head_dim?: number;
  /**
   * DeepSeek-V3: rotate pairs (2i, 2i+1) (true, the default for `deepseek_v3`) or the two
   * halves (false). Honoured for any model that sets it.
   */
  rope_interleave?: boolean;
  /** GPT-J, CodeGen: rotated dimensions per head. */
  rotary_dim?: number;
  /** GPT-NeoX: rotated fraction per head. */
  rotary_pct?: number;
  partial_rotary_factor?: number;
  rope_theta?: number;
  /** GPT-NeoX's name for the base. */
  rotary_emb_base?: number;
  max_position_embeddings?: number;
  /** Phi-3 keeps the pretrained length at the top level. */
  original_max_position_embeddings?: number;
  rope_scaling?: Record<string, unknown> | null;
  /** transformers v5 folds theta and scaling into this one record. */
  rope_parameters?: Record<string, unknown> | null;
}

const WHERE = 'ropeOptionsFromHfConfig';

/**
 * Models whose checkpoints pair dimensions (2i, 2i+1) when the config says nothing: GPT-J's
 * `rotate_every_two`, DeepSeek-V2's complex rotation of adjacent pairs, and DeepSeek-V3,
 * whose `rope_interleave` defaults to true in Hugging Face's `DeepseekV3Config`.
 */
const INTERLEAVED_MODELS = new Set(['gptj', 'codegen', 'deepseek_v2', 'deepseek_v3']);

function num(record: Record<string, unknown>, key: string): number | undefined {
  const v = record[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number')
    fail(WHERE, `rope_scaling.${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function list(record: Record<string, unknown>, key: string): number[] {
  const v = record[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) {
    fail(WHERE, `rope_scaling.${key} must be a list of numbers, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

/** Drop undefined fields so optional ones fall back to their defaults. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function scalingFrom(json: HfRopeConfigJson, s: Record<string, unknown>): RopeScaling | undefined {
  // `type` is the older spelling of `rope_type`; Phi-3 once called LongRoPE "su".
  let type = (s.rope_type ?? s.type ?? 'default') as string;
  if (type === 'su') type = 'longrope';
  const maxPositionEmbeddings = json.max_position_embeddings;
  const original = num(s, 'original_max_position_embeddings');
  switch (type) {
    case 'default':
      return undefined;
    case 'linear':
      return { type, factor: num(s, 'factor')! };
    case 'dynamic':
      return { type, factor: num(s, 'factor')!, maxPositionEmbeddings: maxPositionEmbeddings! };
    case 'yarn':
      return defined({
        type,
        factor: num(s, 'factor'),
        // Without an explicit pretrained length, Hugging Face uses max_position_embeddings.
        originalMaxPositionEmbeddings: (original ?? maxPositionEmbeddings)!,
        maxPositionEmbeddings,
        attentionFactor: num(s, 'attention_factor'),
        betaFast: num(s, 'beta_fast'),
        betaSlow: num(s, 'beta_slow'),
        mscale: num(s, 'mscale'),
        mscaleAllDim: num(s, 'mscale_all_dim'),
        truncate: s.truncate === undefined ? undefined : Boolean(s.truncate),
      });
    case 'llama3':
      return {
        type,
        factor: num(s, 'factor')!,
        lowFreqFactor: num(s, 'low_freq_factor')!,
        highFreqFactor: num(s, 'high_freq_factor')!,
        originalMaxPositionEmbeddings: original!,
      };
    case 'longrope':
      return defined({
        type,
        shortFactor: list(s, 'short_factor'),
        longFactor: list(s, 'long_factor'),
        originalMaxPositionEmbeddings: (original ??
          json.original_max_position_embeddings ??
          maxPositionEmbeddings)!,
        // Phi-3 sets no factor: it is max / original, derived from these two.
        factor: json.original_max_position_embeddings !== undefined ? undefined : num(s, 'factor'),
        maxPositionEmbeddings,
        attentionFactor: num(s, 'attention_factor'),
      });
    default:
      return fail(
        WHERE,
        `rope type '${type}' is not supported; expected default, linear, dynamic, yarn, llama3 or longrope`,
      );
  }
}

/**
 * The `RotaryEmbedding` options a Hugging Face model config describes: rotated width
 * (`head_dim` or hidden_size / num_attention_heads, times `partial_rotary_factor`; GPT-J's
 * `rotary_dim`, GPT-NeoX's `rotary_pct`, DeepSeek's `qk_rope_head_dim`), θ, the pairing
 * style (`rope_interleave` where the config has it; otherwise interleaved for GPT-J, CodeGen
 * and DeepSeek-V2 / V3, half for the rest) and the `rope_scaling` (or v5 `rope_parameters`)
 * record. Missing or malformed fields throw, naming the field.
 */
export function ropeOptionsFromHfConfig(json: HfRopeConfigJson): RotaryEmbeddingOptions {
  const params = json.rope_parameters ?? undefined;
  const scalingRecord = params ?? json.rope_scaling ?? undefined;
  let headDim = json.qk_rope_head_dim ?? json.head_dim;
  if (headDim === undefined) {
    if (!json.hidden_size || !json.num_attention_heads) {
      fail(WHERE, 'needs head_dim, or hidden_size and num_attention_heads');
    }
    headDim = Math.floor(json.hidden_size / json.num_attention_heads);
  }
  const partial =
    (params ? num(params, 'partial_rotary_factor') : undefined) ??
    json.partial_rotary_factor ??
    json.rotary_pct;
  const theta =
    (params ? num(params, 'rope_theta') : undefined) ??
    json.rope_theta ??
    json.rotary_emb_base ??
    10000;
  const scaling = scalingRecord ? scalingFrom(json, scalingRecord) : undefined;
  const interleave = json.rope_interleave;
  if (interleave !== undefined && typeof interleave !== 'boolean') {
    fail(WHERE, `rope_interleave must be true or false, got ${JSON.stringify(interleave)}`);
  }
  const interleaved = interleave ?? INTERLEAVED_MODELS.has(json.model_type ?? '');
  return defined({
    ...(json.rotary_dim !== undefined
      ? { rotaryDim: json.rotary_dim }
      : { headDim, partialRotaryFactor: partial }),
    theta,
    scaling,
    style: interleaved ? 'interleaved' : 'half',
  } as RotaryEmbeddingOptions);
}
