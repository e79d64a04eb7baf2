/**
 * A kernel's parameters, declared once by name and WGSL type. The declaration gives the WGSL
 * struct the shader reads (`params.scale`, `params.shape[d]`), the packing of host values into
 * the 32-bit words `WebGPUDevice.dispatch` uploads, and the signature a pipeline key needs, so
 * no kernel keeps an index table of words or converts floats to bits by hand.
 *
 * Every block starts with `count: u32`, the number of work items the launch covers (elements,
 * rows or workgroups), which entry points compare their id against. Fields follow in
 * declaration order, each one 4-byte word or a fixed-length array of them: in the storage
 * address space `array<u32, N>` has a stride of 4, so the struct is exactly the packed words.
 */

/** The 4-byte scalar types a parameter can have. */
export type ParamType = 'u32' | 'i32' | 'f32';

/** A scalar, or an array whose length is fixed when the shader is specialised (e.g. a rank). */
export type ParamField = ParamType | readonly [ParamType, number];

export type ParamFields = Readonly<Record<string, ParamField>>;

/** Host values for `F`: a number per scalar, an array of exactly the declared length per array. */
export type ParamValues<F extends ParamFields> = {
  readonly [K in keyof F]: F[K] extends ParamType
    ? number
    : F[K] extends readonly [ParamType, number]
      ? readonly number[]
      : number | readonly number[];
};

/** Declared fields and their values, as a kernel hands them to its launcher. */
export interface ParamBlock<F extends ParamFields = ParamFields> {
  readonly fields: F;
  readonly values: ParamValues<F>;
}

/** The field every block starts with. */
const COUNT = 'count';

/** Fields and values, type-checked against each other. */
export function paramBlock<const F extends ParamFields>(
  fields: F,
  values: ParamValues<F>,
): ParamBlock<F> {
  return { fields, values };
}

/** A block without fields of its own (only `count`). */
export const NO_PARAMS: ParamBlock = paramBlock({}, {});

/** Two blocks as one (a kernel's own fields beside shared ones); names must not repeat. */
export function joinParams(a: ParamBlock, b: ParamBlock): ParamBlock {
  for (const name of Object.keys(b.fields)) {
    if (name in a.fields) throw new Error(`joinParams: parameter "${name}" is declared twice`);
  }
  return {
    fields: { ...a.fields, ...b.fields },
    values: { ...a.values, ...b.values } as ParamValues<ParamFields>,
  };
}

function split(field: ParamField): { type: ParamType; length: number | undefined } {
  return typeof field === 'string'
    ? { type: field, length: undefined }
    : { type: field[0], length: field[1] };
}

/** The WGSL struct `Params` (arrays of length 0 are left out; nothing may read them). */
export function paramStruct(fields: ParamFields): string {
  const members = [`  ${COUNT}: u32,`];
  for (const [name, field] of Object.entries(fields)) {
    const { type, length } = split(field);
    if (length === undefined) members.push(`  ${name}: ${type},`);
    else if (length > 0) members.push(`  ${name}: array<${type}, ${length}>,`);
  }
  return `struct Params {\n${members.join('\n')}\n}`;
}

/** `name:type` per field (`name:type[n]` for arrays): what a pipeline key needs of the layout. */
export function paramSignature(fields: ParamFields): string {
  return Object.entries(fields)
    .map(([name, field]) => {
      const { type, length } = split(field);
      return length === undefined ? `${name}:${type}` : `${name}:${type}[${length}]`;
    })
    .join(',');
}

// One conversion of f32 to its bits for every kernel.
const scratch = new DataView(new ArrayBuffer(4));

function word(name: string, type: ParamType, value: number): number {
  switch (type) {
    case 'f32':
      scratch.setFloat32(0, value, true);
      return scratch.getUint32(0, true);
    case 'i32':
      if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
        throw new Error(`kernel parameter ${name}: ${value} is not an i32`);
      }
      return value >>> 0;
    case 'u32':
      if (!Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
        throw new Error(`kernel parameter ${name}: ${value} is not a u32`);
      }
      return value;
  }
}

/** The words of `block` after `count`, in the layout of {@link paramStruct}. */
export function packParams(count: number, block: ParamBlock): Uint32Array {
  const entries = Object.entries(block.fields);
  let size = 1;
  for (const [, field] of entries) size += split(field).length ?? 1;
  const words = new Uint32Array(size);
  words[0] = word(COUNT, 'u32', count);
  let at = 1;
  for (const [name, field] of entries) {
    const { type, length } = split(field);
    const value = (block.values as Record<string, number | readonly number[]>)[name];
    if (length === undefined) {
      if (typeof value !== 'number') throw new Error(`kernel parameter ${name}: needs a number`);
      words[at++] = word(name, type, value);
      continue;
    }
    if (typeof value === 'number' || value?.length !== length) {
      throw new Error(`kernel parameter ${name}: needs ${length} values`);
    }
    for (const v of value) words[at++] = word(name, type, v);
  }
  return words;
}

/** What a specialisation record may hold: plain values that print the same every time. */
export type SpecValue = string | number | boolean | readonly (string | number)[];

/**
 * A pipeline cache key from the kernel's name and its specialisation record: every value the
 * generated WGSL depends on (dtypes, ranks, tile sizes, flags), never the WGSL itself.
 * `name` comes first so errors can name the kernel.
 */
export function shaderKey(name: string, spec: Readonly<Record<string, SpecValue>>): string {
  const parts = Object.entries(spec).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`);
  return [name, ...parts].join(':');
}

const textIds = new Map<string, number>();

/**
 * A short, stable id for generated text a shader inlines (a compiled mask), so a pipeline key
 * names it without carrying it: equal texts get equal ids for the life of the module.
 */
export function textId(text: string): number {
  let id = textIds.get(text);
  if (id === undefined) textIds.set(text, (id = textIds.size));
  return id;
}
