// TF.js weights (a model.json with a weightsManifest, and its binary shards), as
// tensorflowjs_converter writes them; quantised weights are dequantised.
import { decodeElements, elementCount, halfToFloat } from '../dtype.js';
import { WeightsError } from '../errors.js';
import type { ForeignTensor, WeightFile } from '../types.js';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; min?: number; scale?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface TfjsModelJson {
  format?: string;
  modelTopology?: unknown;
  weightsManifest: ManifestGroup[];
}

/** Fetches one weight shard named in the manifest (relative to model.json). */
export type ShardReader = (path: string) => Promise<Uint8Array>;

export function parseTfjsModelJson(text: string | object, file: string): TfjsModelJson {
  let json: unknown = text;
  if (typeof text === 'string') {
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new WeightsError(file, `is not valid JSON (${(e as Error).message})`);
    }
  }
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) {
    throw new WeightsError(file, 'has no weightsManifest: not a TF.js model.json');
  }
  for (const group of manifest as ManifestGroup[]) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new WeightsError(file, 'weightsManifest groups need "paths" and "weights" arrays');
    }
  }
  return json as TfjsModelJson;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2, bool: 1 };

function decodeValues(
  spec: WeightSpec,
  bytes: Uint8Array,
  offset: number,
  file: string,
): [Float32Array, number] {
  const size = elementCount(spec.shape);
  const storage = spec.quantization?.dtype ?? spec.dtype;
  const width = BYTES[storage];
  if (width === undefined)
    throw new WeightsError(file, `tensor '${spec.name}' has unsupported dtype ${storage}`);
  const length = size * width;
  if (offset + length > bytes.byteLength) {
    throw new WeightsError(
      file,
      `truncated: weight shards end before tensor '${spec.name}' (need ${offset + length} bytes, have ${bytes.byteLength})`,
    );
  }
  const slice = bytes.subarray(offset, offset + length);
  const view = new DataView(slice.buffer, slice.byteOffset, length);
  let out: Float32Array;
  if (storage === 'float32') out = decodeElements(slice, 'F32', size, (i) => i);
  else if (storage === 'int32') out = decodeElements(slice, 'I32', size, (i) => i);
  else if (storage === 'bool') out = decodeElements(slice, 'U8', size, (i) => i);
  else if (storage === 'float16') {
    out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  } else {
    const { min = 0, scale = 1 } = spec.quantization!;
    out = new Float32Array(size);
    for (let i = 0; i < size; i++)
      out[i] = min + scale * (storage === 'uint8' ? view.getUint8(i) : view.getUint16(i * 2, true));
  }
  return [out, length];
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Reads every weight of a TF.js model by its manifest name (`block1_conv1/kernel`). */
export async function readTfjs(
  json: TfjsModelJson,
  readShard: ShardReader,
  file: string,
): Promise<WeightFile> {
  const tensors = new Map<string, ForeignTensor>();
  for (const group of json.weightsManifest) {
    const chunks: Uint8Array[] = [];
    for (const path of group.paths) chunks.push(await readShard(path));
    const bytes = concat(chunks);
    let offset = 0;
    for (const spec of group.weights) {
      const [data, length] = decodeValues(spec, bytes, offset, file);
      offset += length;
      tensors.set(spec.name, {
        dtype: spec.quantization?.dtype ?? spec.dtype,
        shape: [...spec.shape],
        toFloat32: () => data.slice(),
      });
    }
    if (offset !== bytes.byteLength) {
      throw new WeightsError(
        file,
        `weight shards hold ${bytes.byteLength} bytes but the manifest describes ${offset}`,
      );
    }
  }
  return { file, format: 'tfjs', tensors };
}
