// `weightMap` in runTraining (`semseg train --weight-map`): the model definition's per-pixel
// weights on every crop reach the loss, computed from the crop's labels and instances.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type PixelWeightInput, registerModel } from '@semseg/core';
import { loadCheckpoint } from '@semseg/core/node';
import { generateSyntheticVoc } from '@semseg/voc-data/node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveTrainSettings } from '../src/index.js';
import { type TrainRunOptions, runTraining, settingsFromRun, toRunOptions } from '../src/node/index.js';
import { TestNet, registerTestNet } from './helpers.js';

registerTestNet();

/** What the weighted net's weight map was called with, and the constant it returns. */
const calls: Array<{ input: PixelWeightInput; options: Record<string, number> }> = [];
let constant = 2;
registerModel({
  name: 'engine-weighted-net',
  description: 'engine-test-net with a per-pixel weight map (a constant, recorded calls)',
  configSchema: z.object({
    numClasses: z.number().int().min(2).default(21),
    hidden: z.number().int().positive().default(6),
    dropout: z.number().min(0).lt(1).default(0),
  }),
  create: (config, { rng }) => new TestNet(config, rng),
  pixelWeightMap: (input, options) => {
    calls.push({
      input: { ...input, labels: input.labels.slice(), instances: input.instances.slice() },
      options: { ...options },
    });
    return new Float32Array(input.width * input.height).fill(constant);
  },
});

let dir: string;
let data: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'semseg-weight-map-'));
  const voc = await generateSyntheticVoc(join(dir, 'data'), {
    seed: 4,
    count: 6,
    minSize: 33,
    maxSize: 48,
    numClasses: 4,
  });
  data = voc.root;
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (out: string, baseLr: number): TrainRunOptions => ({
  model: 'engine-weighted-net',
  modelConfig: { hidden: 5 },
  data,
  out: join(dir, out),
  steps: 3,
  batchSize: 2,
  crop: [24, 24],
  // No weight decay: with it the weighted run's gradients are no longer the plain run's times 2.
  optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 0 },
  schedule: { policy: 'fixed', baseLr },
  seed: 5,
  checkpointEvery: 10,
  logEvery: 1,
});

async function finalWeights(out: string): Promise<Float32Array[]> {
  const checkpoint = await loadCheckpoint(join(dir, out, 'final'));
  const names = Object.keys(checkpoint.tensors).sort();
  const values = names.map((n) => Float32Array.from(checkpoint.tensors[n]!.dataSync()));
  tf.dispose([...Object.values(checkpoint.tensors), ...Object.values(checkpoint.optimizerTensors)]);
  return values;
}

describe('runTraining with a weight map', () => {
  it('weights every pixel of the loss: a map of 2s at lr 0.01 trains as no map at lr 0.02', async () => {
    calls.length = 0;
    constant = 2;
    await runTraining({ ...base('weighted', 0.01), weightMap: { w0: 3 } });
    await runTraining(base('plain', 0.02));
    const [weighted, plain] = [await finalWeights('weighted'), await finalWeights('plain')];
    let maxDiff = 0;
    let moved = 0;
    for (let t = 0; t < weighted.length; t++)
      for (let i = 0; i < weighted[t]!.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(weighted[t]![i]! - plain[t]![i]!));
    const initial = await runTraining({ ...base('one-step', 0.02), steps: 1 }).then(() =>
      finalWeights('one-step'),
    );
    for (let t = 0; t < plain.length; t++)
      for (let i = 0; i < plain[t]!.length; i++)
        moved = Math.max(moved, Math.abs(plain[t]![i]! - initial[t]![i]!));
    expect(moved).toBeGreaterThan(1e-4); // the steps after the first moved the weights
    expect(maxDiff).toBeLessThan(1e-6);
    // One call per crop and step, with the crop's labels, its instances and the run's options.
    expect(calls).toHaveLength(3 * 2);
    for (const { input, options } of calls) {
      expect(options).toEqual({ w0: 3 });
      expect([input.width, input.height, input.numClasses, input.ignoreIndex]).toEqual([24, 24, 21, 255]); // the synthetic data's labelmap: VOC's 21 classes
      // No SegmentationObject here: the instances are the label's components, 0 on background and
      // ignored pixels, and at least one instance in a crop with an object.
      for (let p = 0; p < input.labels.length; p++) {
        const background = input.labels[p] === 0 || input.labels[p] === 255;
        expect(input.instances[p] === 0).toBe(background);
      }
    }
    expect(calls.some(({ input }) => input.instances.some((v) => v > 0))).toBe(true);
  }, 120_000);

  it('records the map in run.json and the recipe, and a resumed run keeps it', async () => {
    const run = JSON.parse(await readFile(join(dir, 'weighted', 'run.json'), 'utf8'));
    expect(run.weightMap).toEqual({ w0: 3 });
    const loss = (run.recipe as Array<{ name: string; value: string }>).find((r) => r.name === 'loss')!;
    expect(loss.value).toContain('per-pixel weight map (w0 3)');
    const settings = settingsFromRun(run, 'run.json');
    expect([settings.weightMap, settings.weightMapW0, settings.weightMapSigma]).toEqual([true, 3, undefined]);
    const resolved = resolveTrainSettings([{ origin: 'resumed run weighted', settings }]).settings;
    const again = toRunOptions(
      { ...resolved, model: run.model, data: run.data, out: run.out, steps: run.steps },
      null,
    );
    expect(again.weightMap).toEqual({ w0: 3 });
  });

  it('refuses a model without a weight map before writing anything, and w0 without the map', async () => {
    const out = join(dir, 'refused');
    const run = runTraining({ ...base('refused', 0.01), model: 'engine-test-net', weightMap: {} });
    await expect(run).rejects.toThrow(ConfigError);
    await expect(
      runTraining({ ...base('refused', 0.01), model: 'engine-test-net', weightMap: {} }),
    ).rejects.toThrow(/--weight-map: model engine-test-net has no per-pixel weight map/);
    expect(existsSync(out)).toBe(false);
    const settings = settingsFromRun(
      JSON.parse(await readFile(join(dir, 'plain', 'run.json'), 'utf8')),
      'run.json',
    );
    expect(() =>
      toRunOptions({ ...settings, weightMapW0: 5, model: 'engine-weighted-net', data, out, steps: 1 }, null),
    ).toThrow(/add --weight-map/);
  });
});
