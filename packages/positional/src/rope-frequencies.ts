import { fail } from './errors.js';

// Inverse-frequency tables for rotary embeddings and the attention factor that multiplies
// cos / sin, following Hugging Face transformers' `src/transformers/modeling_rope_utils.py`
// (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
// `_compute_dynamic_ntk_parameters`, `_compute_yarn_parameters`,
// `_compute_llama3_parameters`, `_compute_longrope_parameters`). Hugging Face evaluates them in
// float32; here every table is evaluated in float64 from the same formulas, and the rope op
// receives it rounded to float32.

/** Linear position interpolation (Chen et al. 2023; kaiokendev): every frequency / factor. */
export interface LinearRopeScaling {
  readonly type: 'linear';
  readonly factor: number;
}

/**
 * Dynamic NTK-aware scaling (bloc97, emozilla): the base grows with the sequence length
 * once it passes `maxPositionEmbeddings`.
 */
export interface DynamicRopeScaling {
  readonly type: 'dynamic';
  readonly factor: number;
  /** The context length the model was trained with. */
  readonly maxPositionEmbeddings: number;
  /** Current sequence length; below `maxPositionEmbeddings` it changes nothing. */
  readonly seqLen?: number;
}

/** YaRN (Peng et al. 2023, arXiv:2309.00071), including DeepSeek's mscale variant. */
export interface YarnRopeScaling {
  readonly type: 'yarn';
  /**
   * Scaling factor; defaults to maxPositionEmbeddings / originalMaxPositionEmbeddings. An
   * explicit factor wins, as in transformers v5; some 4.x releases replaced it by that ratio
   * whenever `original_max_position_embeddings` was set.
   */
  readonly factor?: number;
  /** The pretrained context length (sets the correction range). */
  readonly originalMaxPositionEmbeddings: number;
  /** The extended context length; only used to derive `factor` when it is not given. */
  readonly maxPositionEmbeddings?: number;
  /** Multiplies cos / sin; default from mscale (below) or 0.1·ln(factor) + 1. */
  readonly attentionFactor?: number;
  /** Rotations where extrapolation ends (default 32). */
  readonly betaFast?: number;
  /** Rotations where interpolation starts (default 1). */
  readonly betaSlow?: number;
  /** With `mscaleAllDim`, attentionFactor = mscale(factor, mscale) / mscale(factor, mscaleAllDim). */
  readonly mscale?: number;
  readonly mscaleAllDim?: number;
  /** Round the correction range outward to whole dimensions (default true; gpt-oss sets false). */
  readonly truncate?: boolean;
}

/** Llama 3.1: keep high frequencies, divide low ones by `factor`, blend in between. */
export interface Llama3RopeScaling {
  readonly type: 'llama3';
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  readonly originalMaxPositionEmbeddings: number;
}

/** LongRoPE (Ding et al. 2024; Phi-3): a searched rescale factor per frequency. */
export interface LongRopeScaling {
  readonly type: 'longrope';
  readonly shortFactor: readonly number[];
  readonly longFactor: readonly number[];
  readonly originalMaxPositionEmbeddings: number;
  /** Defaults to maxPositionEmbeddings / originalMaxPositionEmbeddings. */
  readonly factor?: number;
  readonly maxPositionEmbeddings?: number;
  /** Default sqrt(1 + ln(factor) / ln(originalMaxPositionEmbeddings)), or 1 when factor <= 1. */
  readonly attentionFactor?: number;
  /** Current sequence length: the long factors apply past originalMaxPositionEmbeddings. */
  readonly seqLen?: number;
}

export type RopeScaling =
  | { readonly type: 'default' }
  | LinearRopeScaling
  | DynamicRopeScaling
  | YarnRopeScaling
  | Llama3RopeScaling
  | LongRopeScaling;

export type RopeScalingType = RopeScaling['type'];

/** Which dimensions rotate, at what base, with what scaling. */
export interface RopeConfig {
  /**
   * Rotated dimensions (even). Give this, or `headDim` with an optional
   * `partialRotaryFactor` (rotaryDim = trunc(headDim · partialRotaryFactor), as Hugging Face).
   */
  readonly rotaryDim?: number;
  readonly headDim?: number;
  readonly partialRotaryFactor?: number;
  /** The base θ (Hugging Face `rope_theta`), default 10000. */
  readonly theta?: number;
  readonly scaling?: RopeScaling;
}

export interface RopeFrequencies {
  readonly rotaryDim: number;
  /** `[rotaryDim / 2]` inverse frequencies, float64. */
  readonly invFreq: Float64Array;
  /** Multiplies cos and sin (Hugging Face `attention_scaling`). */
  readonly attentionScaling: number;
}

const WHERE = 'ropeInvFreq';

/** The rotated width a config names, checked to be an even integer >= 2. */
export function resolveRotaryDim(where: string, config: RopeConfig): number {
  let dim: number;
  if (config.rotaryDim !== undefined) {
    dim = config.rotaryDim;
  } else if (config.headDim !== undefined) {
    const fraction = config.partialRotaryFactor ?? 1;
    if (!(fraction > 0 && fraction <= 1)) {
      fail(where, `partialRotaryFactor must be in (0, 1], got ${fraction}`);
    }
    dim = Math.trunc(config.headDim * fraction);
  } else {
    fail(where, 'give rotaryDim, or headDim (with an optional partialRotaryFactor)');
  }
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0) {
    const from =
      config.rotaryDim === undefined
        ? ` (headDim ${config.headDim} × partialRotaryFactor ${config.partialRotaryFactor ?? 1})`
        : '';
    fail(where, `the rotary dimension must be an even integer >= 2, got ${dim}${from}`);
  }
  return dim;
}

function positive(name: string, value: number | undefined, atLeast = 0): number {
  if (value === undefined || !Number.isFinite(value) || value <= atLeast) {
    fail(WHERE, `${name} must be a finite number > ${atLeast}, got ${value}`);
  }
  return value;
}

function scaleFactor(type: string, factor: number | undefined): number {
  if (factor === undefined || !Number.isFinite(factor) || factor < 1) {
    fail(WHERE, `${type} scaling needs factor >= 1, got ${factor}`);
  }
  return factor;
}

/** factor given, or maxPositionEmbeddings / originalMaxPositionEmbeddings. */
function factorOrRatio(
  type: string,
  scaling: { factor?: number; maxPositionEmbeddings?: number },
  original: number,
): number {
  if (scaling.factor !== undefined) return scaleFactor(type, scaling.factor);
  if (scaling.maxPositionEmbeddings === undefined) {
    fail(WHERE, `${type} scaling needs factor, or maxPositionEmbeddings to derive it`);
  }
  return scaleFactor(
    type,
    positive('maxPositionEmbeddings', scaling.maxPositionEmbeddings) / original,
  );
}

/** θ^(2i/d) for i in [0, d/2): the unscaled wavelengths / 2π. */
function powers(theta: number, dim: number): Float64Array {
  return Float64Array.from({ length: dim / 2 }, (_, i) => theta ** ((2 * i) / dim));
}

/** YaRN's magnitude scale, 0.1·m·ln(s) + 1 for s > 1 (DeepSeek-V2 `yarn_get_mscale`). */
function yarnMscale(scale: number, m = 1): number {
  return scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1;
}

function yarn(theta: number, dim: number, s: YarnRopeScaling): RopeFrequencies {
  const original = positive('originalMaxPositionEmbeddings', s.originalMaxPositionEmbeddings);
  const factor = factorOrRatio('yarn', s, original);
  if (theta === 1) fail(WHERE, 'yarn scaling needs theta != 1 (it divides by ln θ)');
  const betaFast = positive('betaFast', s.betaFast ?? 32);
  const betaSlow = positive('betaSlow', s.betaSlow ?? 1);
  let attentionScaling: number;
  if (s.attentionFactor !== undefined) {
    attentionScaling = positive('attentionFactor', s.attentionFactor);
  } else if (s.mscale && s.mscaleAllDim) {
    attentionScaling = yarnMscale(factor, s.mscale) / yarnMscale(factor, s.mscaleAllDim);
  } else {
    attentionScaling = yarnMscale(factor);
  }
  // The dimension whose wavelength fits `rotations` times in the original context:
  // d · ln(L / (2π · rotations)) / (2 ln θ).
  const correctionDim = (rotations: number) =>
    (dim * Math.log(original / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (s.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // as Hugging Face: avoid a zero-width ramp
  const base = powers(theta, dim);
  const invFreq = base.map((p, i) => {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const extrapolation = 1 - ramp; // 1: keep the original frequency; 0: interpolate
    return (1 / (factor * p)) * (1 - extrapolation) + (1 / p) * extrapolation;
  });
  return { rotaryDim: dim, invFreq, attentionScaling };
}

function llama3(theta: number, dim: number, s: Llama3RopeScaling): RopeFrequencies {
  const factor = scaleFactor('llama3', s.factor);
  const low = positive('lowFreqFactor', s.lowFreqFactor);
  const high = positive('highFreqFactor', s.highFreqFactor);
  if (high <= low) {
    fail(WHERE, `llama3 scaling needs highFreqFactor > lowFreqFactor, got ${high} <= ${low}`);
  }
  const original = positive('originalMaxPositionEmbeddings', s.originalMaxPositionEmbeddings);
  const lowFreqWavelen = original / low;
  const highFreqWavelen = original / high;
  const invFreq = powers(theta, dim).map((p) => {
    const f = 1 / p;
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highFreqWavelen) return f;
    if (wavelen > lowFreqWavelen) return f / factor;
    const smooth = (original / wavelen - low) / (high - low);
    return ((1 - smooth) * f) / factor + smooth * f;
  });
  return { rotaryDim: dim, invFreq, attentionScaling: 1 };
}

function longrope(theta: number, dim: number, s: LongRopeScaling): RopeFrequencies {
  const original = positive('originalMaxPositionEmbeddings', s.originalMaxPositionEmbeddings);
  const factor = factorOrRatio('longrope', s, original);
  for (const [name, list] of [
    ['shortFactor', s.shortFactor],
    ['longFactor', s.longFactor],
  ] as const) {
    if (!list || list.length !== dim / 2 || list.some((v) => !(v > 0 && Number.isFinite(v)))) {
      fail(
        WHERE,
        `longrope ${name} must be ${dim / 2} (rotaryDim / 2) positive numbers, got ${list ? `${list.length} values` : list}`,
      );
    }
  }
  const attentionScaling =
    s.attentionFactor !== undefined
      ? positive('attentionFactor', s.attentionFactor)
      : factor <= 1
        ? 1
        : Math.sqrt(1 + Math.log(factor) / Math.log(original));
  const ext = s.seqLen !== undefined && s.seqLen > original ? s.longFactor : s.shortFactor;
  const invFreq = powers(theta, dim).map((p, i) => 1 / (ext[i]! * p));
  return { rotaryDim: dim, invFreq, attentionScaling };
}

/**
 * The inverse frequencies and attention scaling of a rotary embedding configuration:
 * `1 / θ^(2i/d)` for i in [0, d/2), rescaled as the scaling type prescribes. Bad
 * configurations (odd or missing rotary dimension, θ <= 0, factor < 1, missing or
 * mis-sized scaling fields) throw a QkvError naming the field.
 */
export function ropeInvFreq(config: RopeConfig): RopeFrequencies {
  const dim = resolveRotaryDim(WHERE, config);
  const theta = positive('theta', config.theta ?? 10000);
  const scaling = config.scaling ?? { type: 'default' };
  switch (scaling.type) {
    case 'default':
      return { rotaryDim: dim, invFreq: powers(theta, dim).map((p) => 1 / p), attentionScaling: 1 };
    case 'linear': {
      const factor = scaleFactor('linear', scaling.factor);
      const invFreq = powers(theta, dim).map((p) => 1 / p / factor);
      return { rotaryDim: dim, invFreq, attentionScaling: 1 };
    }
    case 'dynamic': {
      const factor = scaleFactor('dynamic', scaling.factor);
      const max = positive('maxPositionEmbeddings', scaling.maxPositionEmbeddings);
      if (dim === 2) fail(WHERE, 'dynamic scaling needs rotaryDim > 2 (it raises to d / (d - 2))');
      const seqLen = Math.max(scaling.seqLen ?? max, max);
      // θ' = θ · (factor · seqLen / max − (factor − 1))^(d / (d − 2))
      const grown = theta * ((factor * seqLen) / max - (factor - 1)) ** (dim / (dim - 2));
      return { rotaryDim: dim, invFreq: powers(grown, dim).map((p) => 1 / p), attentionScaling: 1 };
    }
    case 'yarn':
      return yarn(theta, dim, scaling);
    case 'llama3':
      return llama3(theta, dim, scaling);
    case 'longrope':
      return longrope(theta, dim, scaling);
    default:
      return fail(
        WHERE,
        `unknown scaling type '${(scaling as { type: string }).type}'; expected default, linear, dynamic, yarn, llama3 or longrope`,
      );
  }
}
