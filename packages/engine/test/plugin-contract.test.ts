// A model package's contract, end to end: a model defined in this file registers its architecture,
// preset, parameter groups, ImageNet initialisation and training outputs through @semseg/core, and
// the engine trains it with no code that names it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Module,
  type ParameterGroup,
  type Rng,
  type SegmentationModel,
  type TrainingOutput,
  registerModel,
  registerTrainPreset,
} from '@semseg/core';
import { loadCheckpoint } from '@semseg/core/node';
import { Conv2d } from '@semseg/layers';
import { generateSyntheticVoc } from '@semseg/voc-data/node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type SettingsLayer, checkStagedStart, presetSettings, resolveTrainSettings } from '../src/index.js';
import { type TrainEvent, runTraining, toRunOptions } from '../src/node/index.js';

/** Two 1x1 convs: a main head and an auxiliary one whose loss counts 0.4 in training. */
class TwoHeads extends Module implements SegmentationModel {
  readonly numClasses: number;
  readonly config: { numClasses: number; hidden: number };
  readonly body: Conv2d;
  readonly head: Conv2d;
  readonly aux: Conv2d;
  constructor(config: { numClasses: number; hidden: number }, rng: Rng) {
    super();
    this.config = config;
    this.numClasses = config.numClasses;
    this.body = this.registerModule(
      'body',
      new Conv2d({ inChannels: 3, outChannels: config.hidden, kernelSize: 3, padding: 1, rng }),
    );
    this.head = this.registerModule(
      'head',
      new Conv2d({ inChannels: config.hidden, outChannels: config.numClasses, kernelSize: 1, rng }),
    );
    this.aux = this.registerModule(
      'aux',
      new Conv2d({ inChannels: config.hidden, outChannels: config.numClasses, kernelSize: 1, rng }),
    );
  }
  forward(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.head.forward(tf.relu(this.body.forward(images))));
  }
  trainingOutputs(images: tf.Tensor4D, labels: tf.Tensor3D): TrainingOutput[] {
    const features = tf.relu(this.body.forward(images));
    return [
      { logits: this.head.forward(features), labels, weight: 1 },
      { logits: this.aux.forward(features), labels, weight: 0.4 },
    ];
  }
}

const calls: { pretrained: string[]; trainingOutputs: number } = { pretrained: [], trainingOutputs: 0 };
const group = (name: string): ParameterGroup =>
  name.startsWith('head.')
    ? { lrMultiplier: 10, decayMultiplier: name.endsWith('bias') ? 0 : 1 }
    : { lrMultiplier: 1, decayMultiplier: 1 };

let dir: string;
let data: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerModel({
    name: 'two-heads-test',
    description: 'a model defined in a test file',
    configSchema: z.object({ numClasses: z.number().int().default(21), hidden: z.number().int().default(4) }),
    create: (config, { rng }) => {
      const model = new TwoHeads(config, rng);
      const original = model.trainingOutputs.bind(model);
      model.trainingOutputs = (images, labels) => {
        calls.trainingOutputs++;
        return original(images, labels);
      };
      return model;
    },
    parameterGroup: group,
    pretrained: {
      description: 'a constant body (test)',
      load: async (model, source) => {
        const file = typeof source === 'string' ? source : source.name;
        calls.pretrained.push(file);
        tf.tidy(() => model.body.weight.assign(tf.fill(model.body.weight.shape, 0.01)));
        return { file, format: 'test', loaded: ['body.weight'], notInSource: ['body.bias'] };
      },
    },
    crfPreset: 'deeplabV1',
  });
  registerTrainPreset({
    name: 'two-heads-test-voc',
    model: 'two-heads-test',
    modelConfig: { numClasses: 21, hidden: 3 },
    source: 'this test file',
    notes: 'adam, sum reduction',
    optimizer: { type: 'adam', weightDecay: 1e-4 },
    schedule: { policy: 'poly', baseLr: 0.01, power: 0.9 },
    lossReduction: 'sum',
    steps: 3,
    batchSize: 2,
    crop: [24, 24],
    scaleRange: [1, 1],
    flipProbability: 0,
    trainSplit: 'train_aug',
    catMaxRatio: 0.9,
  });
  registerTrainPreset({
    name: 'two-heads-test-stage2',
    model: 'two-heads-test',
    modelConfig: { hidden: 3 },
    source: 'this test file',
    notes: 'starts from stage 1',
    optimizer: { type: 'sgd' },
    schedule: { policy: 'fixed', baseLr: 0.001 },
    steps: 1,
    batchSize: 2,
    crop: [24, 24],
    scaleRange: [1, 1],
    flipProbability: 0,
    initFrom: 'two-heads-test-voc',
  });
  dir = await mkdtemp(join(tmpdir(), 'semseg-contract-'));
  const voc = await generateSyntheticVoc(join(dir, 'data'), {
    seed: 5,
    count: 6,
    minSize: 28,
    maxSize: 36,
    numClasses: 3,
    sbd: true,
  });
  data = voc.root;
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runFromPreset(preset: string, out: string, flags: SettingsLayer['settings'] = {}) {
  const { settings, origins } = resolveTrainSettings([
    { origin: `preset ${preset}`, settings: presetSettings(preset) },
    { origin: 'flag', settings: { data, out, logEvery: 1, checkpointEvery: 100, ...flags } },
  ]);
  checkStagedStart(settings, false);
  const options = toRunOptions(
    { ...settings, model: settings.model!, data, out, steps: settings.steps! },
    null,
  );
  return { options, origins };
}

describe('the model plug-in contract', () => {
  it('trains a model defined in a test file from its registered preset: groups, outputs, pretrained, recipe', async () => {
    const baseline = tf.memory().numTensors;
    const out = join(dir, 'stage1');
    const { options, origins } = runFromPreset('two-heads-test-voc', out, { pretrained: 'imagenet.bin' });
    expect(options.trainSplit).toBe('train_aug');
    expect(options.catMaxRatio).toBe(0.9);
    expect(options.lossReduction).toBe('sum');
    const events: TrainEvent[] = [];
    const result = await runTraining({ ...options, settingOrigins: origins, onEvent: (e) => events.push(e) });
    expect(result.step).toBe(3);
    expect(calls.pretrained).toEqual(['imagenet.bin']);
    expect(calls.trainingOutputs).toBe(3);
    expect(tf.memory().numTensors).toBe(baseline);

    const start = events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>;
    const recipe = Object.fromEntries(start.recipe.map((e) => [e.name, e]));
    expect(recipe.optimizer!.value).toBe('adam, weight decay 0.0001');
    expect(recipe.optimizer!.origin).toBe('preset two-heads-test-voc');
    expect(recipe.loss!.value).toMatch(/summed over labelled pixels/);
    expect(recipe.multipliers!.value).toBe(
      'lr x1 decay x1: 4 tensor(s) (e.g. body.weight); lr x10 decay x1: 1 tensor(s) (e.g. head.weight); lr x10 decay x0: 1 tensor(s) (e.g. head.bias)',
    );
    expect(recipe.multipliers!.origin).toBe('model two-heads-test');
    expect(recipe.initialisation!.value).toBe('pretrained imagenet.bin (seed 0)');
    expect(recipe.initialisation!.origin).toBe('flag, default');
    expect(recipe.data!.value).toBe('split train_aug');
    const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(run.recipe).toEqual(start.recipe);
    expect(run.lossReduction).toBe('sum');

    // The checkpoint names the architecture by its registered name and resolved config.
    const checkpoint = await loadCheckpoint(result.finalCheckpoint);
    expect(checkpoint.meta.architecture).toEqual({
      name: 'two-heads-test',
      config: { numClasses: 21, hidden: 3 },
    });
    tf.dispose([...Object.values(checkpoint.tensors), ...Object.values(checkpoint.optimizerTensors)]);
  }, 120_000);

  it("the CRF preset a model declares is the default of --crf for its checkpoints; others get DeepLab v1's", async () => {
    const { crfPresetFor, DEFAULT_CRF_PRESET } = await import('../src/index.js');
    registerModel({
      name: 'crf-by-config-test',
      description: 'declares its CRF per config',
      configSchema: z.object({ numClasses: z.number().int().default(21), big: z.boolean().default(false) }),
      create: (config, { rng }) => new TwoHeads({ numClasses: config.numClasses, hidden: 2 }, rng),
      crfPreset: (config) => (config.big ? 'deeplabV2Resnet101' : 'deconvNet'),
    });
    expect(crfPresetFor({ name: 'two-heads-test', config: {} })).toBe('deeplabV1');
    expect(crfPresetFor({ name: 'crf-by-config-test', config: { big: true } })).toBe('deeplabV2Resnet101');
    expect(crfPresetFor({ name: 'crf-by-config-test', config: { big: false } })).toBe('deconvNet');
    expect(crfPresetFor({ name: 'not-registered', config: {} })).toBe(DEFAULT_CRF_PRESET);
    expect(DEFAULT_CRF_PRESET).toBe('deeplabV1');
  });

  it('a staged preset refuses to start without the earlier stage, and checks what it is given', async () => {
    expect(() => runFromPreset('two-heads-test-stage2', join(dir, 'nope'))).toThrow(
      /starts from a trained two-heads-test-voc run.*--init-from/,
    );
    const { options } = runFromPreset('two-heads-test-stage2', join(dir, 'stage2'), {
      initFrom: join(dir, 'stage1'),
      trainSplit: 'train',
    });
    const result = await runTraining(options);
    expect(result.step).toBe(1);
    // Staged from stage 1's final weights (a run folder is accepted): one small SGD step away.
    const [a, b] = await Promise.all([
      loadCheckpoint(join(dir, 'stage1', 'final')),
      loadCheckpoint(result.finalCheckpoint),
    ]);
    const before = a.tensors['body.weight']!.dataSync();
    const after = b.tensors['body.weight']!.dataSync();
    const maxChange = Math.max(...Array.from(before, (v, i) => Math.abs(v - after[i]!)));
    expect(maxChange).toBeGreaterThan(0);
    expect(maxChange).toBeLessThan(1e-2);
    for (const c of [a, b]) tf.dispose([...Object.values(c.tensors), ...Object.values(c.optimizerTensors)]);
  }, 120_000);
});
