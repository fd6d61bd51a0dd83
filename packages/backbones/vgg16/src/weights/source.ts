import { CheckpointError } from '@semseg/core';
import { type ShardReader, type WeightFile, WeightsError, readWeights } from '@semseg/weights';
import { type KerasWeights, kerasWeightsOf } from './keras-layout.js';

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
 * Where VGG16 weights come from: a path (Node: a model.json, a folder holding one, a .h5,
 * .caffemodel, .pth or .safetensors file), an http(s) URL of one, its bytes (with a name or
 * without), an in-memory Layers
 * model, or files a user picked in a browser (model.json + shards, or one file).
 */
export type WeightsSource =
  | string
  | URL
  | Uint8Array
  | ArrayBuffer
  | { name: string; data: Uint8Array }
  | InMemoryLayersModel
  | readonly NamedBlob[];

export type WeightsFormat = 'tfjs-layers' | 'keras-hdf5' | 'caffe' | 'pytorch' | 'safetensors';

export interface ReadWeights {
  format: WeightsFormat;
  /** The file the weights came from, for messages. */
  file: string;
  /** The file's tensors by its own names (@semseg/weights). */
  foreign: WeightFile;
  /** Keras and TF.js files: the VGG16 layers as kernel/bias pairs (empty for the other formats). */
  weights: KerasWeights;
}

/** @semseg/weights' errors as @semseg/core's CheckpointError (the same one line). */
async function asCheckpointError<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof WeightsError) throw new CheckpointError(e.file, e.message.slice(e.file.length + 2));
    throw e;
  }
}

function described(foreign: WeightFile): ReadWeights {
  const format: WeightsFormat =
    foreign.format === 'keras' ? 'keras-hdf5' : foreign.format === 'tfjs' ? 'tfjs-layers' : foreign.format;
  const keras = foreign.format === 'keras' || foreign.format === 'tfjs';
  return { format, file: foreign.file, foreign, weights: keras ? kerasWeightsOf(foreign) : new Map() };
}

function bytesOf(data: Uint8Array | ArrayBuffer): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

const text = (value: string | object): Uint8Array =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

async function fromUrl(url: URL): Promise<WeightFile> {
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
  return readWeights(
    { name: url.href, data: await get(url) },
    { readShard: (path) => get(new URL(path, url)) },
  );
}

async function fromPath(path: string): Promise<WeightFile> {
  const fs = await import('node:fs/promises');
  const { join, resolve } = await import('node:path');
  const full = resolve(path);
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
  // Hidden from bundlers: only Node reads paths.
  const specifier = '@semseg/weights/node';
  const node = (await import(/* @vite-ignore */ specifier)) as typeof import('@semseg/weights/node');
  return node.readWeightsFile(file);
}

async function fromFiles(files: readonly NamedBlob[]): Promise<WeightFile> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const modelJson = byName.get('model.json') ?? files.find((f) => f.name.endsWith('.json'));
  if (!modelJson) {
    if (files.length !== 1) {
      throw new CheckpointError('(picked files)', 'need a model.json with its shards, or one weights file');
    }
    const [one] = files as [NamedBlob];
    return readWeights({ name: one.name, data: new Uint8Array(await one.arrayBuffer()) });
  }
  const readShard: ShardReader = async (path) => {
    const name = path.split('/').pop()!;
    const shard = byName.get(name);
    if (!shard)
      throw new CheckpointError(modelJson.name, `weight shard '${name}' was not among the picked files`);
    return new Uint8Array(await shard.arrayBuffer());
  };
  return readWeights(
    { name: modelJson.name, data: new Uint8Array(await modelJson.arrayBuffer()) },
    { readShard },
  );
}

function fromMemoryModel(model: InMemoryLayersModel): Promise<WeightFile> {
  return readWeights(
    { name: 'model.json', data: text(model.modelJson) },
    {
      readShard: async (path) => {
        const shard = model.shards[path];
        if (!shard) throw new CheckpointError('model.json', `weight shard '${path}' was not provided`);
        return bytesOf(shard);
      },
    },
  );
}

/** Reads VGG16 weights from any supported source, detecting the format from the bytes. */
export function readWeightsSource(source: WeightsSource): Promise<ReadWeights> {
  return asCheckpointError(async () => {
    if (source instanceof URL) return described(await fromUrl(source));
    if (typeof source === 'string') {
      return described(await (/^https?:\/\//i.test(source) ? fromUrl(new URL(source)) : fromPath(source)));
    }
    if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
      return described(await readWeights({ name: '(weights bytes)', data: bytesOf(source) }));
    }
    if (Array.isArray(source)) return described(await fromFiles(source));
    if ('data' in source && source.data instanceof Uint8Array) return described(await readWeights(source));
    const model = source as InMemoryLayersModel;
    if (model.modelJson !== undefined && model.shards) return described(await fromMemoryModel(model));
    throw new CheckpointError(
      '(weights source)',
      'expected a path, URL, bytes, { modelJson, shards } or picked files',
    );
  });
}
