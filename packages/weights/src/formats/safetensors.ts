// safetensors: 8 bytes of little-endian header length, a JSON header, then raw little-endian data.
import { DTYPE_BYTES, contiguousToFloat32, elementCount } from '../dtype.js';
import { WeightsError } from '../errors.js';
import type { ByteSource, ForeignTensor, WeightFile } from '../types.js';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** A header length this large is no safetensors file (the format itself caps it at 100 MB). */
const MAX_HEADER = 100_000_000;

export function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.byteLength < 10) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n > 1n && n < BigInt(MAX_HEADER) && head[8] === 0x7b; // '{'
}

export function readSafetensors(source: ByteSource, file: string): WeightFile {
  if (source.size < 8) throw new WeightsError(file, 'truncated safetensors file (no header length)');
  const headerLength = Number(new DataView(source.read(0, 8).slice().buffer).getBigUint64(0, true));
  if (headerLength > MAX_HEADER || 8 + headerLength > source.size) {
    throw new WeightsError(
      file,
      `truncated or not a safetensors file (header of ${headerLength} bytes, file of ${source.size})`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(source.read(8, headerLength))) as Record<string, unknown>;
  } catch (e) {
    throw new WeightsError(file, `safetensors header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, ForeignTensor>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = value as Partial<HeaderEntry>;
    const { dtype, shape, data_offsets: offsets } = entry;
    const width = dtype === undefined ? undefined : DTYPE_BYTES[dtype];
    if (!width || !Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) {
      throw new WeightsError(
        file,
        `tensor '${name}' has an unsupported header entry ${JSON.stringify(value)}`,
      );
    }
    const count = elementCount(shape);
    const [begin, end] = offsets;
    if (end - begin !== count * width) {
      throw new WeightsError(
        file,
        `tensor '${name}' ([${shape}] ${dtype}) needs ${count * width} bytes, its offsets span ${end - begin}`,
      );
    }
    if (dataStart + end > source.size) {
      throw new WeightsError(
        file,
        `truncated: tensor '${name}' ends at byte ${dataStart + end}, the file has ${source.size}`,
      );
    }
    tensors.set(name, {
      dtype: dtype!,
      shape: [...shape],
      toFloat32: () => contiguousToFloat32(source.read(dataStart + begin, end - begin), dtype!, count),
      readRange: (start, n) =>
        contiguousToFloat32(source.read(dataStart + begin + start * width, n * width), dtype!, n),
    });
  }
  return { file, format: 'safetensors', tensors };
}

/** A tensor to write: float32 values, or int64 values (`num_batches_tracked`). */
export interface TensorToWrite {
  dtype: 'float32' | 'int64';
  shape: readonly number[];
  data: Float32Array | BigInt64Array;
}

/** Encodes tensors as a safetensors file (names sorted, data 8-byte aligned as the reference writer does). */
export function writeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.byteLength;
    if (t.data.length !== elementCount(t.shape)) {
      throw new RangeError(`writeSafetensors: '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    }
    header[name] = {
      dtype: t.dtype === 'int64' ? 'I64' : 'F32',
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(json.byteLength + ((8 - (json.byteLength % 8)) % 8)).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const name of names) {
    const t = tensors.get(name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
