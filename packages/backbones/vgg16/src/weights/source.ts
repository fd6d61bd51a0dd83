import { CheckpointError } from '@semseg/core';
import { isHdf5, readKerasHdf5 } from './hdf5.js';
import type { KerasWeights } from './keras-layout.js';
import { type ShardReader, parseLayersModelJson, readLayersFormat } from './layers-format.js';

/** A file picked in a browser (the subset of `File` the import uses). */
export interface NamedBlob {
  name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A TF.js Layers model held in memory: model.json and its shards by path. */
export interface InMemoryLayersModel {
  modelJson: string | object;
  shards: Record<string, Uint8Array | ArrayBuffer>;
}

/**
 * Where VGG16 weights come from: a path (Node: a model.json, a folder holding one, or a .h5
 * file), an http(s) URL of a model.json or .h5, HDF5 bytes, an in-memory Layers model, or files a
 * user picked in a browser (model.json + shards, or one .h5).
 */
export type WeightsSource =
  | string
  | URL
  | Uint8Array
  | ArrayBuffer
  | InMemoryLayersModel
  | readonly NamedBlob[];

export type WeightsFormat = 'tfjs-layers' | 'keras-hdf5';

export interface ReadWeights {
  weights: KerasWeights;
  format: WeightsFormat;
  /** The file the weights came from, for messages. */
  file: string;
}

function bytesOf(data: Uint8Array | ArrayBuffer): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

async function fromBytes(bytes: Uint8Array, file: string): Promise<ReadWeights> {
  if (isHdf5(bytes)) return { weights: await readKerasHdf5(bytes, file), format: 'keras-hdf5', file };
  const text = new TextDecoder().decode(bytes.subarray(0, 1)).trim();
  if (text === '{') throw new CheckpointError(file, 'is JSON: pass the model.json with its weight shards');
  throw new CheckpointError(file, 'is neither an HDF5 weights file nor a TF.js Layers model.json');
}

async function fromLayersJson(
  text: string | object,
  readShard: ShardReader,
  file: string,
): Promise<ReadWeights> {
  const json = parseLayersModelJson(text, file);
  return { weights: await readLayersFormat(json, readShard, file), format: 'tfjs-layers', file };
}

async function fromUrl(url: URL): Promise<ReadWeights> {
  const get = async (target: URL): Promise<Uint8Array> => {
    let response: Response;
    try {
      response = await fetch(target);
    } catch (e) {
      throw new CheckpointError(target.href, `cannot be fetched (${(e as Error).message})`);
    }
    if (!response.ok)
      throw new CheckpointError(target.href, `HTTP ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const bytes = await get(url);
  if (isHdf5(bytes)) return fromBytes(bytes, url.href);
  return fromLayersJson(new TextDecoder().decode(bytes), (path) => get(new URL(path, url)), url.href);
}

async function fromPath(path: string): Promise<ReadWeights> {
  const fs = await import('node:fs/promises');
  const { dirname, join, resolve } = await import('node:path');
  const full = resolve(path);
  const read = async (file: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await fs.readFile(file));
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new CheckpointError(
        file,
        code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(e)})`,
      );
    }
  };
  let isDir = false;
  try {
    isDir = (await fs.stat(full)).isDirectory();
  } catch {
    throw new CheckpointError(path, 'weights not found (no such file or folder)');
  }
  let file = full;
  if (isDir) {
    const entries = await fs.readdir(full);
    const h5 = entries.filter((e) => /\.(h5|hdf5)$/i.test(e));
    if (entries.includes('model.json')) file = join(full, 'model.json');
    else if (h5.length === 1) file = join(full, h5[0]!);
    else throw new CheckpointError(full, 'holds neither a model.json nor exactly one .h5 file');
  }
  const bytes = await read(file);
  if (isHdf5(bytes)) return fromBytes(bytes, file);
  const dir = dirname(file);
  return fromLayersJson(
    new TextDecoder().decode(bytes),
    (shard) => {
      if (shard.includes('..') || shard.startsWith('/')) {
        throw new CheckpointError(file, `shard path ${JSON.stringify(shard)} leaves the model folder`);
      }
      return read(join(dir, shard));
    },
    file,
  );
}

async function fromFiles(files: readonly NamedBlob[]): Promise<ReadWeights> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const modelJson = byName.get('model.json') ?? files.find((f) => f.name.endsWith('.json'));
  if (!modelJson) {
    const h5 = files.find((f) => /\.(h5|hdf5)$/i.test(f.name)) ?? (files.length === 1 ? files[0] : undefined);
    if (!h5)
      throw new CheckpointError('(picked files)', 'need a model.json with its shards, or one .h5 file');
    return fromBytes(new Uint8Array(await h5.arrayBuffer()), h5.name);
  }
  const text = new TextDecoder().decode(await modelJson.arrayBuffer());
  return fromLayersJson(
    text,
    async (path) => {
      const name = path.split('/').pop()!;
      const shard = byName.get(name);
      if (!shard)
        throw new CheckpointError(modelJson.name, `weight shard '${name}' was not among the picked files`);
      return new Uint8Array(await shard.arrayBuffer());
    },
    modelJson.name,
  );
}

/** Reads VGG16 weights from any supported source, detecting the format. */
export async function readWeightsSource(source: WeightsSource): Promise<ReadWeights> {
  if (source instanceof URL) return fromUrl(source);
  if (typeof source === 'string') {
    return /^https?:\/\//i.test(source) ? fromUrl(new URL(source)) : fromPath(source);
  }
  if (source instanceof Uint8Array || source instanceof ArrayBuffer)
    return fromBytes(bytesOf(source), '(weights bytes)');
  if (Array.isArray(source)) return fromFiles(source);
  const model = source as InMemoryLayersModel;
  if (model.modelJson !== undefined && model.shards) {
    return fromLayersJson(
      model.modelJson,
      async (path) => {
        const shard = model.shards[path];
        if (!shard) throw new CheckpointError('model.json', `weight shard '${path}' was not provided`);
        return bytesOf(shard);
      },
      'model.json',
    );
  }
  throw new CheckpointError(
    '(weights source)',
    'expected a path, URL, HDF5 bytes, { modelJson, shards } or picked files',
  );
}
