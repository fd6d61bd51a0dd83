// Loading checkpoints as the page does (files or a URL -> checks -> model on the active backend),
// and every failure a user can cause giving a message that says what is wrong.
import { CheckpointError, type CheckpointJson, Rng, createModel, encodeCheckpoint } from '@semseg/core';
import { predictImage } from '@semseg/engine';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Fetcher,
  type NamedBlob,
  checkpointFromFiles,
  checkpointFromUrl,
} from '../src/checkpoint-source.js';
import { checkpointTooLarge, deviceBudget } from '../src/device-budget.js';
import { checkCheckpoint, loadCheckpointModel } from '../src/load-checkpoint.js';
import { listModels } from '../src/models.js';

const ROOMY = deviceBudget(8, 'cpu', {});

function blob(name: string, content: string | Uint8Array): NamedBlob {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  return {
    name,
    text: async () => new TextDecoder().decode(bytes),
    arrayBuffer: async () => bytes.slice().buffer as ArrayBuffer,
  };
}

/** Byte equality without vitest's element-by-element diffing of large arrays. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

let modelJsonText: string;
let weights: Uint8Array;

beforeAll(async () => {
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const model = createModel(
    'fcn8s',
    { numClasses: 3, width: 1 / 64, alignment: 'compact' },
    { rng: new Rng(3) },
  );
  const encoded = await encodeCheckpoint(model.stateDict(), {
    architecture: { name: 'fcn8s', config: { numClasses: 3, width: 1 / 64, alignment: 'compact' } },
    classes: ['background', 'square', 'disc'],
    palette: [
      [0, 0, 0],
      [128, 0, 0],
      [0, 128, 0],
    ],
    normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], scale: 1, channelOrder: 'rgb' },
  });
  model.dispose();
  modelJsonText = JSON.stringify(encoded.modelJson);
  weights = encoded.weights;
});

describe('the model list', () => {
  it('comes from the registry: importing @semseg/fcn in models.ts is all it takes', () => {
    expect(listModels().map((m) => m.name)).toEqual(expect.arrayContaining(['fcn16s', 'fcn32s', 'fcn8s']));
  });
});

describe('checkpoint from files', () => {
  it('loads model.json + weights.bin into a model that segments, leaking no tensors', async () => {
    const before = tf.memory().numTensors;
    const files = await checkpointFromFiles([
      blob('weights.bin', weights),
      blob('model.json', modelJsonText),
    ]);
    expect(files.source).toBe('model.json + weights.bin');
    const loaded = loadCheckpointModel(files, ROOMY);
    expect(loaded.meta.classes).toEqual(['background', 'square', 'disc']);
    const image = { width: 20, height: 12, data: new Uint8Array(20 * 12 * 3).fill(90) };
    const prediction = predictImage(loaded.model, image, { normalization: loaded.meta.normalization });
    expect(prediction.labels).toHaveLength(240);
    loaded.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finds shards by the names in the manifest', async () => {
    const json = JSON.parse(modelJsonText) as CheckpointJson;
    json.weightsManifest[0]!.paths = ['part-1.bin', 'part-2.bin'];
    const cut = 1000;
    const files = await checkpointFromFiles([
      blob('part-2.bin', weights.slice(cut)),
      blob('model.json', JSON.stringify(json)),
      blob('part-1.bin', weights.slice(0, cut)),
    ]);
    expect(sameBytes(files.weights, weights)).toBe(true);
    await expect(
      checkpointFromFiles([blob('model.json', JSON.stringify(json)), blob('part-1.bin', weights)]),
    ).rejects.toThrow('part-2.bin: model.json needs this weights file; choose it too');
  });

  it('asks for model.json when only weights are chosen, and for one JSON file only', async () => {
    await expect(checkpointFromFiles([blob('weights.bin', weights)])).rejects.toThrow(
      /choose the checkpoint's model\.json/,
    );
    await expect(
      checkpointFromFiles([blob('a.json', modelJsonText), blob('b.json', modelJsonText)]),
    ).rejects.toThrow(/one model\.json, not 2 JSON files/);
  });

  it('refuses a checkpoint of another format (a tfjs layers model) by saying so', async () => {
    const layers = JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [] });
    const error = await checkpointFromFiles([blob('model.json', layers), blob('weights.bin', weights)]).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toBe(
      'model.json: format "layers-model" is not a semseg checkpoint (expected "semseg-checkpoint")',
    );
    await expect(
      checkpointFromFiles([blob('model.json', 'not json at all'), blob('weights.bin', weights)]),
    ).rejects.toThrow(/is not valid JSON/);
  });

  it('refuses an architecture the page has not registered, naming the ones it has', async () => {
    const json = JSON.parse(modelJsonText) as CheckpointJson;
    json.architecture.name = 'segformer';
    const files = { source: 'model.json', modelJsonText: JSON.stringify(json), weights };
    const known = listModels()
      .map((m) => m.name)
      .join(', ');
    expect(known).toMatch(/\bdeeplab-v1\b.*\bfcn8s\b.*\bunet\b/);
    expect(() => checkCheckpoint(files, ROOMY)).toThrow(
      `model.json: holds a 'segformer' model, which this page does not have (it has: ${known})`,
    );
  });

  it('refuses truncated weights and weights that do not fit the architecture', async () => {
    const truncated = { source: 'model.json', modelJsonText, weights: weights.slice(0, weights.length - 8) };
    expect(() => loadCheckpointModel(truncated, ROOMY)).toThrow(/truncated; wrong or damaged file/);
    const json = JSON.parse(modelJsonText) as CheckpointJson;
    json.architecture.config = { ...json.architecture.config, width: 1 / 32 };
    const before = tf.memory().numTensors;
    const mismatched = { source: 'model.json', modelJsonText: JSON.stringify(json), weights };
    expect(() => loadCheckpointModel(mismatched, ROOMY)).toThrow(/state dict does not match the model/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('too large for the device', () => {
  it('compares the weights with a quarter of the device memory', () => {
    const json = JSON.parse(modelJsonText) as CheckpointJson;
    const tiny = { totalBytes: 1000, basis: 'a test budget' };
    expect(checkpointTooLarge(json, tiny)).toMatch(
      /^the model needs 0\.\d MB of weights, more than this device allows \(0\.0 MB, a test budget\)$/,
    );
    expect(checkpointTooLarge(json, ROOMY)).toBeNull();
    expect(deviceBudget(undefined, 'wasm', {}).totalBytes).toBe(1024 ** 3);
    expect(deviceBudget(undefined, 'wasm', {}).basis).toBe('a quarter of 4 GB device memory (assumed)');
    expect(deviceBudget(2, 'wasm', {}).totalBytes).toBe(512 * 1024 ** 2);
  });

  it("on WebGPU, checks each tensor against the adapter's buffer limits", () => {
    const json = JSON.parse(modelJsonText) as CheckpointJson;
    json.weightsManifest[0]!.weights.push({ name: 'huge', shape: [7, 7, 512, 4096], dtype: 'float32' });
    const adapter = {
      description: 'gpu',
      isFallbackAdapter: false,
      maxBufferSize: 2 ** 28,
      maxStorageBufferBindingSize: 2 ** 27,
    };
    const budget = deviceBudget(8, 'webgpu', { webgpuAdapter: adapter });
    expect(budget.largestTensorBytes).toBe(2 ** 27);
    expect(checkpointTooLarge(json, budget)).toBe(
      "tensor huge (411.0 MB) exceeds the GPU's largest buffer (134.2 MB); try wasm",
    );
    const files = { source: 'big/model.json', modelJsonText: JSON.stringify(json), weights };
    expect(() => checkCheckpoint(files, budget)).toThrow(/^big\/model\.json: tensor huge/);
  });
});

describe('checkpoint from a URL', () => {
  function server(routes: Record<string, string | Uint8Array>): { fetcher: Fetcher; requested: string[] } {
    const requested: string[] = [];
    const fetcher: Fetcher = async (url) => {
      requested.push(url);
      const body = routes[url];
      if (body === undefined)
        return {
          ok: false,
          status: 404,
          statusText: 'Not Found',
          text: async () => '',
          arrayBuffer: async () => new ArrayBuffer(0),
        };
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      return {
        ok: true,
        status: 200,
        statusText: 'OK',
        text: async () => new TextDecoder().decode(bytes),
        arrayBuffer: async () => bytes.slice().buffer as ArrayBuffer,
      };
    };
    return { fetcher, requested };
  }

  it('fetches model.json and the weights next to it, from a file or a folder URL', async () => {
    const { fetcher, requested } = server({
      'https://models.example/run/final/model.json': modelJsonText,
      'https://models.example/run/final/weights.bin': weights,
    });
    const files = await checkpointFromUrl('https://models.example/run/final/model.json', fetcher);
    expect(sameBytes(files.weights, weights)).toBe(true);
    expect(files.source).toBe('https://models.example/run/final/model.json');
    await checkpointFromUrl('https://models.example/run/final', fetcher);
    expect(requested.slice(2)).toEqual([
      'https://models.example/run/final/model.json',
      'https://models.example/run/final/weights.bin',
    ]);
    const relative = await checkpointFromUrl(
      'demo/model.json',
      server({
        'http://127.0.0.1:4173/app/demo/model.json': modelJsonText,
        'http://127.0.0.1:4173/app/demo/weights.bin': weights,
      }).fetcher,
      'http://127.0.0.1:4173/app/',
    );
    expect(relative.weights.byteLength).toBe(weights.byteLength);
  });

  it('says what went wrong: a bad URL, a 404, a network or CORS failure', async () => {
    const { fetcher } = server({ 'https://m.example/model.json': modelJsonText });
    await expect(checkpointFromUrl('http://[bad', fetcher)).rejects.toThrow(
      'http://[bad: is not a valid URL',
    );
    await expect(checkpointFromUrl('https://m.example/other.json', fetcher)).rejects.toThrow(
      'https://m.example/other.json: the server answered 404 Not Found',
    );
    await expect(checkpointFromUrl('https://m.example/model.json', fetcher)).rejects.toThrow(
      'https://m.example/weights.bin: the server answered 404 Not Found',
    );
    const offline: Fetcher = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(checkpointFromUrl('https://m.example/model.json', offline)).rejects.toThrow(
      "https://m.example/model.json: cannot be fetched (Failed to fetch); the server must allow this page's origin (CORS)",
    );
  });
});
