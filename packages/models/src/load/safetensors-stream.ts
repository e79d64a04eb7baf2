import {
  parseSafetensorsHeader,
  QkvError,
  type SafetensorsEntry,
  safetensorsHeaderLength,
} from '@qkv/tensor';
import { fail } from '../errors.js';
import type { ByteReader } from './byte-reader.js';

/**
 * Walk a safetensors file front to back: parse the header, then hand each tensor's bytes to
 * `visit` (or skip them when `wanted` says no) before reading the next, so only one tensor is
 * ever held. `fileSize`, when known, lets a truncated file fail before any tensor is read.
 */
export async function streamSafetensors(
  file: string,
  reader: ByteReader,
  fileSize: number | undefined,
  wanted: (entry: SafetensorsEntry) => boolean,
  visit: (entry: SafetensorsEntry, bytes: Uint8Array) => void,
): Promise<void> {
  const headerLength = safetensorsHeaderLength(await reader.read(8, 'the 8-byte header length'));
  if (fileSize !== undefined && headerLength > fileSize - 8) {
    fail(
      'loadModel',
      `${file}: header length ${headerLength} runs past the end of the ${fileSize}-byte file (not safetensors, or truncated)`,
    );
  }
  const headerBytes = await reader.read(headerLength, `the ${headerLength}-byte JSON header`);
  const dataLength = fileSize === undefined ? undefined : fileSize - 8 - headerLength;
  let entries: SafetensorsEntry[];
  try {
    entries = parseSafetensorsHeader(headerBytes, dataLength).entries;
  } catch (error) {
    // Name the file: the header parser only knows the tensor.
    if (error instanceof QkvError) fail('loadModel', `${file}: ${error.message}`);
    throw error;
  }
  let at = 0;
  for (const entry of entries) {
    const [begin, end] = entry.dataOffsets;
    if (begin < at) {
      fail('loadModel', `${file}: tensor "${entry.name}" overlaps the tensor before it`);
    }
    const what = `tensor "${entry.name}"`;
    await reader.skip(begin - at, what);
    if (wanted(entry)) visit(entry, await reader.read(end - begin, what));
    else await reader.skip(end - begin, what);
    at = end;
  }
}
