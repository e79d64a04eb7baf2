import { fromTypedArray } from './creation.js';
import type { Device } from './device.js';
import {
  type DType,
  float16BitsFromNumber,
  numberFromBFloat16Bits,
  numberFromFloat16Bits,
  type TypedArray,
} from './dtype.js';
import { fail } from './errors.js';
import { formatShape, sizeOf } from './shape.js';
import type { Tensor } from './tensor.js';

// The Hugging Face safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON mapping names to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the
// end of the header, tensors packed in order), then the raw little-endian data.

const ELEMENT_BYTES: Record<string, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  U8: 1,
  BOOL: 1,
};

/** Which qkv dtype each safetensors dtype loads as (BF16 widens to float32, U8 is bool-like). */
const LOADED_AS: Record<string, DType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'float32',
  I32: 'int32',
  U32: 'uint32',
  U8: 'bool',
  BOOL: 'bool',
};

const SAVED_AS: Record<DType, string> = {
  float32: 'F32',
  float16: 'F16',
  int32: 'I32',
  uint32: 'U32',
  bool: 'BOOL',
};

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  /** The optional `__metadata__` string map. */
  metadata: Record<string, string>;
}

/**
 * Parse a safetensors file. F32, F16, BF16 (widened to float32), I32, U32, U8 and BOOL are
 * read (U8 loads as bool only when every byte is 0 or 1, otherwise it is rejected); other
 * dtypes, malformed headers and truncated data throw naming the tensor.
 */
export function loadSafetensors(
  bytes: Uint8Array | ArrayBuffer,
  options: { device?: Device } = {},
): SafetensorsFile {
  const buffer = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const where = 'loadSafetensors';
  if (buffer.byteLength < 8)
    fail(where, `file is ${buffer.byteLength} bytes, shorter than the 8-byte header length`);
  const headerLength = safetensorsHeaderLength(buffer);
  if (headerLength > buffer.byteLength - 8) {
    fail(
      where,
      `header length ${headerLength} runs past the end of the ${buffer.byteLength}-byte file`,
    );
  }
  const dataStart = 8 + headerLength;
  const { entries, metadata } = parseSafetensorsHeader(
    buffer.subarray(8, dataStart),
    buffer.byteLength - dataStart,
  );
  const tensors: Record<string, Tensor> = {};
  try {
    for (const entry of entries) {
      const [begin, end] = entry.dataOffsets;
      const data = decodeSafetensorsTensor(
        entry,
        buffer.subarray(dataStart + begin, dataStart + end),
      );
      tensors[entry.name] = fromTypedArray(data, entry.shape, entry.loadedAs, options.device);
    }
  } catch (error) {
    for (const t of Object.values(tensors)) t.dispose();
    throw error;
  }
  return { tensors, metadata };
}

/** One tensor of a safetensors header, validated. */
export interface SafetensorsEntry {
  readonly name: string;
  /** The file's dtype name: F32, F16, BF16, I32, U32, U8 or BOOL. */
  readonly dtype: string;
  readonly shape: readonly number[];
  /** `[begin, end)` bytes, relative to the end of the header. */
  readonly dataOffsets: readonly [number, number];
  /** The qkv dtype it loads as (F16 stays float16, BF16 widens to float32). */
  readonly loadedAs: DType;
}

/** The little-endian u64 header length at the start of a safetensors file (>= 8 bytes). */
export function safetensorsHeaderLength(first8: Uint8Array): number {
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  return Number(view.getBigUint64(0, true));
}

/**
 * Parse and validate a safetensors JSON header (the bytes after the 8-byte length). With
 * `dataLength` (the bytes after the header) it also checks every tensor ends inside the file.
 * Entries come back in data order, so a reader can stream the file front to back.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  dataLength = Number.POSITIVE_INFINITY,
): { entries: SafetensorsEntry[]; metadata: Record<string, string> } {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    fail('loadSafetensors', `header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail('loadSafetensors', 'header is not a JSON object');
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = validateEntry(name, raw, dataLength);
    entries.push({
      name,
      dtype: entry.dtype,
      shape: entry.shape,
      dataOffsets: entry.data_offsets,
      loadedAs: LOADED_AS[entry.dtype]!,
    });
  }
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
  return { entries, metadata };
}

function validateEntry(name: string, raw: unknown, dataLength: number): HeaderEntry {
  const where = `loadSafetensors: tensor "${name}"`;
  const entry = raw as HeaderEntry;
  if (!entry || typeof entry !== 'object') fail(where, 'header entry is not an object');
  if (!(entry.dtype in ELEMENT_BYTES)) {
    fail(
      where,
      `dtype ${JSON.stringify(entry.dtype)} is not supported (supported: ${Object.keys(ELEMENT_BYTES).join(', ')})`,
    );
  }
  if (!Array.isArray(entry.shape) || entry.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    fail(where, `shape ${JSON.stringify(entry.shape)} is not a list of non-negative integers`);
  }
  const offsets = entry.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    fail(where, `data_offsets ${JSON.stringify(offsets)} are not [begin, end] with begin <= end`);
  }
  const expected = sizeOf(entry.shape) * ELEMENT_BYTES[entry.dtype]!;
  if (offsets[1] - offsets[0] !== expected) {
    fail(
      where,
      `shape ${formatShape(entry.shape)} ${entry.dtype} needs ${expected} bytes but data_offsets span ${offsets[1] - offsets[0]}`,
    );
  }
  if (offsets[1] > dataLength)
    fail(
      where,
      `data ends at byte ${offsets[1]} but the file has only ${dataLength} data bytes (truncated?)`,
    );
  return entry;
}

/**
 * Decode one tensor's bytes (exactly its `dataOffsets` span) into the typed array of its
 * `loadedAs` dtype.
 */
export function decodeSafetensorsTensor(entry: SafetensorsEntry, bytes: Uint8Array): TypedArray {
  const name = entry.name;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = sizeOf(entry.shape);
  switch (entry.dtype) {
    case 'F32':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
    case 'F16':
      return Float32Array.from({ length: count }, (_, i) =>
        numberFromFloat16Bits(view.getUint16(i * 2, true)),
      );
    case 'BF16':
      return Float32Array.from({ length: count }, (_, i) =>
        numberFromBFloat16Bits(view.getUint16(i * 2, true)),
      );
    case 'I32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
    case 'U32':
      return Uint32Array.from({ length: count }, (_, i) => view.getUint32(i * 4, true));
    default: {
      const out = bytes.slice();
      const bad = out.findIndex((b) => b > 1);
      if (bad >= 0)
        fail(
          `loadSafetensors: tensor "${name}"`,
          `${entry.dtype} byte ${bad} is ${out[bad]}, but qkv loads U8 only as bool (0 or 1)`,
        );
      return out;
    }
  }
}

/** Serialise tensors (any device) to safetensors bytes, tensors packed in name order. */
export async function saveSafetensors(
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') fail('saveSafetensors', 'a tensor cannot be named "__metadata__"');
    const t = tensors[name]!;
    const chunk = encode(t.dtype, await t.data());
    header[name] = {
      dtype: SAVED_AS[t.dtype],
      shape: t.shape,
      data_offsets: [offset, offset + chunk.byteLength],
    };
    chunks.push(chunk);
    offset += chunk.byteLength;
  }
  // Pad the header with spaces to a multiple of 8 bytes, as the reference writer does.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padding = (8 - (json.byteLength % 8)) % 8;
  const headerBytes = new Uint8Array(json.byteLength + padding).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.byteLength;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.byteLength;
  }
  return out;
}

function encode(dtype: DType, data: TypedArray): Uint8Array {
  if (dtype === 'bool') return new Uint8Array(data);
  if (dtype === 'float16') {
    const out = new Uint8Array(data.length * 2);
    const view = new DataView(out.buffer);
    data.forEach((v, i) => {
      view.setUint16(i * 2, float16BitsFromNumber(v), true);
    });
    return out;
  }
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => {
    if (dtype === 'float32') view.setFloat32(i * 4, v, true);
    else if (dtype === 'int32') view.setInt32(i * 4, v, true);
    else view.setUint32(i * 4, v, true);
  });
  return out;
}
