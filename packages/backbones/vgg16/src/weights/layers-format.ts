import { CheckpointError } from '@semseg/core';
import {
  type ArrayWithShape,
  KERAS_LAYER_NAMES,
  type KerasLayerWeights,
  type KerasWeights,
} from './keras-layout.js';

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

/** The parts of a TF.js Layers model.json that the import reads. */
export interface LayersModelJson {
  format?: string;
  modelTopology?: unknown;
  weightsManifest: ManifestGroup[];
}

/** Fetches one weight shard named in the manifest (relative to model.json). */
export type ShardReader = (path: string) => Promise<Uint8Array>;

export function parseLayersModelJson(text: string | object, file: string): LayersModelJson {
  let json: unknown = text;
  if (typeof text === 'string') {
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new CheckpointError(file, `is not valid JSON (${(e as Error).message})`);
    }
  }
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) {
    throw new CheckpointError(file, 'has no weightsManifest: not a TF.js Layers model.json');
  }
  for (const group of manifest as ManifestGroup[]) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new CheckpointError(file, 'weightsManifest groups need "paths" and "weights" arrays');
    }
  }
  return json as LayersModelJson;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2, bool: 1 };

/** Decodes one spec's values (dequantising where the converter quantised) as float32. */
function decodeValues(
  spec: WeightSpec,
  bytes: Uint8Array,
  offset: number,
  file: string,
): [Float32Array, number] {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const storage = spec.quantization?.dtype ?? spec.dtype;
  const width = BYTES[storage];
  if (width === undefined || (spec.dtype !== 'float32' && !spec.quantization)) {
    throw new CheckpointError(
      file,
      `weight '${spec.name}' has dtype ${storage}, which VGG16 weights never use`,
    );
  }
  const length = size * width;
  if (offset + length > bytes.byteLength) {
    throw new CheckpointError(
      file,
      `weight shards end before '${spec.name}' (need ${offset + length} bytes, have ${bytes.byteLength})`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  const out = new Float32Array(size);
  if (storage === 'float32' && (bytes.byteOffset + offset) % 4 === 0 && LITTLE_ENDIAN) {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset + offset, size));
  } else if (storage === 'float32') {
    for (let i = 0; i < size; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (storage === 'float16') {
    for (let i = 0; i < size; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  } else {
    const { min = 0, scale = 1 } = spec.quantization!;
    for (let i = 0; i < size; i++)
      out[i] = min + scale * (storage === 'uint8' ? view.getUint8(i) : view.getUint16(i * 2, true));
  }
  return [out, length];
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const WEIGHT_NAME = /(?:^|\/)([A-Za-z0-9_]+?)\/(kernel|bias)(?::0)?$/;

/**
 * Reads the weights of a TF.js Layers model (what tensorflowjs_converter writes for
 * `keras.applications.VGG16`) into Keras layer name -> kernel/bias arrays.
 */
export async function readLayersFormat(
  json: LayersModelJson,
  readShard: ShardReader,
  file: string,
): Promise<KerasWeights> {
  const partial = new Map<string, Partial<KerasLayerWeights>>();
  for (const group of json.weightsManifest) {
    const chunks: Uint8Array[] = [];
    for (const path of group.paths) chunks.push(await readShard(path));
    const bytes = concat(chunks);
    let offset = 0;
    for (const spec of group.weights) {
      const [data, length] = decodeValues(spec, bytes, offset, file);
      offset += length;
      const match = WEIGHT_NAME.exec(spec.name);
      if (!match) continue;
      const [, layer, kind] = match as unknown as [string, string, 'kernel' | 'bias'];
      if (!KERAS_LAYER_NAMES.has(layer)) continue;
      const entry = partial.get(layer) ?? {};
      entry[kind] = { data, shape: [...spec.shape] } satisfies ArrayWithShape;
      partial.set(layer, entry);
    }
    if (offset !== bytes.byteLength) {
      throw new CheckpointError(
        file,
        `weight shards hold ${bytes.byteLength} bytes but the manifest describes ${offset}`,
      );
    }
  }
  const weights: KerasWeights = new Map();
  for (const [layer, entry] of partial) {
    if (!entry.kernel || !entry.bias) {
      throw new CheckpointError(file, `layer '${layer}' has ${entry.kernel ? 'no bias' : 'no kernel'}`);
    }
    weights.set(layer, { kernel: entry.kernel, bias: entry.bias });
  }
  return weights;
}
