import {
  cast,
  concat,
  type Device,
  type DType,
  keep,
  narrow,
  rand,
  randn,
  scope,
  type Tensor,
  zeros,
} from '@qkv/tensor';
import { fail } from './errors.js';
import {
  checkStateDict,
  expectedParameters,
  type MhaShapeConfig,
  type ParameterShapes,
  usesPackedProjection,
} from './state-dict.js';

/** The parameters of a `MultiHeadAttention`, under names that do not depend on the layout. */
export type Param =
  | 'qWeight'
  | 'kWeight'
  | 'vWeight'
  | 'qBias'
  | 'kBias'
  | 'vBias'
  | 'outWeight'
  | 'outBias'
  | 'biasK'
  | 'biasV';

export interface MhaParameterConfig extends MhaShapeConfig {
  device: Device;
  dtype: DType;
}

/**
 * The parameter tensors of one `MultiHeadAttention`: PyTorch's initialisation, loading and
 * saving under PyTorch's state-dict names, and their lifetime.
 */
export class MhaParameters {
  readonly #params = new Map<Param, Tensor>();

  constructor(
    readonly config: MhaParameterConfig,
    seed: number | undefined,
  ) {
    this.#initialize(seed);
  }

  /** Names and shapes as PyTorch's `state_dict()` lists them. */
  get expected(): ParameterShapes {
    return expectedParameters(this.config);
  }

  get(name: Param): Tensor {
    const t = this.#params.get(name);
    if (!t) fail('MultiHeadAttention', `parameter ${name} is missing`);
    return t;
  }

  /** A bias parameter, or undefined for a module built with `bias: false`. */
  bias(name: Param): Tensor | undefined {
    return this.config.bias ? this.get(name) : undefined;
  }

  /**
   * Replace every parameter from a PyTorch state dict. Each entry's name, shape, dtype and
   * device is checked, and every new tensor made, before any parameter is replaced: a load
   * that throws changes nothing.
   */
  load(where: string, record: Readonly<Record<string, Tensor>>): void {
    const { device } = this.config;
    checkStateDict(where, record, this.expected);
    for (const [name, t] of Object.entries(record)) {
      if (t.device !== device) {
        fail(where, `${name} is on ${t.device.name} but the module is on ${device.name}`);
      }
    }
    const loaded = scope(() => this.#fromStateDict(record));
    for (const [name, t] of loaded) this.#set(name, t);
  }

  /** The parameters under PyTorch's names (new tensors the caller owns). */
  stateDict(): Record<string, Tensor> {
    const p = (name: Param) => this.get(name);
    const out: Record<string, Tensor> = {};
    const view = (t: Tensor) => t.reshape(t.shape);
    if (usesPackedProjection(this.config)) {
      out.in_proj_weight = concat([p('qWeight'), p('kWeight'), p('vWeight')], 0);
    } else {
      out.q_proj_weight = view(p('qWeight'));
      out.k_proj_weight = view(p('kWeight'));
      out.v_proj_weight = view(p('vWeight'));
    }
    if (this.config.bias) out.in_proj_bias = concat([p('qBias'), p('kBias'), p('vBias')], 0);
    if (this.config.addBiasKv) {
      out.bias_k = view(p('biasK'));
      out.bias_v = view(p('biasV'));
    }
    out['out_proj.weight'] = view(p('outWeight'));
    if (this.config.bias) out['out_proj.bias'] = view(p('outBias'));
    return out;
  }

  /**
   * The tensors themselves, by internal name: whoever replaces an entry (an optimizer step)
   * disposes the tensor it replaces and hands the new one to this object.
   */
  live(): Map<string, Tensor> {
    return this.#params as Map<string, Tensor>;
  }

  dispose(): void {
    for (const t of this.#params.values()) t.dispose();
    this.#params.clear();
  }

  /** PyTorch's initialisation: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v. */
  #initialize(seed: number | undefined): void {
    const { embedDim: e, kvDim: kv, kdim, vdim, device, dtype } = this.config;
    let n = 0;
    const common = () => ({
      device,
      dtype,
      ...(seed === undefined ? {} : { seed: seed + ++n }),
    });
    const uniform = (rows: number, cols: number, fanOut = rows) => {
      const bound = Math.sqrt(6 / (cols + fanOut));
      return rand([rows, cols], { ...common(), low: -bound, high: bound });
    };
    const packedFanOut = e + 2 * kv;
    const packed = usesPackedProjection(this.config);
    this.#set('qWeight', uniform(e, e, packed ? packedFanOut : e));
    this.#set('kWeight', uniform(kv, kdim, packed ? packedFanOut : kv));
    this.#set('vWeight', uniform(kv, vdim, packed ? packedFanOut : kv));
    // torch.nn.Linear's default for out_proj: U(-1/sqrt(in), 1/sqrt(in)).
    const outBound = 1 / Math.sqrt(e);
    this.#set('outWeight', rand([e, e], { ...common(), low: -outBound, high: outBound }));
    if (this.config.bias) {
      for (const [name, width] of [
        ['qBias', e],
        ['kBias', kv],
        ['vBias', kv],
        ['outBias', e],
      ] as const) {
        this.#set(name, zeros([width], { device, dtype }));
      }
    }
    if (this.config.addBiasKv) {
      const std = Math.sqrt(2 / (kv + kv));
      this.#set('biasK', randn([1, 1, kv], { ...common(), std }));
      this.#set('biasV', randn([1, 1, kv], { ...common(), std }));
    }
  }

  /** The parameters from a checked PyTorch state dict (copies, or views of the caller's). */
  #fromStateDict(record: Readonly<Record<string, Tensor>>): Map<Param, Tensor> {
    const { embedDim, kvDim, dtype } = this.config;
    const out = new Map<Param, Tensor>();
    const own = (t: Tensor) => (t.dtype === dtype ? t.reshape(t.shape) : cast(t, dtype));
    const split = (t: Tensor, names: [Param, Param, Param]) => {
      const rows = [embedDim, kvDim, kvDim];
      let start = 0;
      names.forEach((name, i) => {
        out.set(name, own(narrow(t, 0, start, rows[i]!)));
        start += rows[i]!;
      });
    };
    if (record.in_proj_weight) split(record.in_proj_weight, ['qWeight', 'kWeight', 'vWeight']);
    else {
      out.set('qWeight', own(record.q_proj_weight!));
      out.set('kWeight', own(record.k_proj_weight!));
      out.set('vWeight', own(record.v_proj_weight!));
    }
    if (record.in_proj_bias) split(record.in_proj_bias, ['qBias', 'kBias', 'vBias']);
    out.set('outWeight', own(record['out_proj.weight']!));
    if (record['out_proj.bias']) out.set('outBias', own(record['out_proj.bias']));
    if (record.bias_k) out.set('biasK', own(record.bias_k));
    if (record.bias_v) out.set('biasV', own(record.bias_v));
    return out;
  }

  #set(name: Param, t: Tensor): void {
    this.#params.get(name)?.dispose();
    this.#params.set(name, keep(t));
  }
}
