// The torchvision-model and DeepLab v3+ training presets: values as their sources, and each trains
// one step of a width-reduced model through the engine's Trainer with its model's parameter groups,
// the auxiliary loss weighted 0.5 where the recipe has it.
import '@tensorflow/tfjs-backend-cpu';
import {
  Rng,
  type SegmentationModel,
  createModel,
  getModelDefinition,
  getTrainPreset,
  validateModelConfig,
} from '@semseg/core';
import { Trainer, presetSettings } from '@semseg/engine';
import { FCN_RESNET_PRESETS } from '@semseg/fcn';
import { syntheticScenes } from '@semseg/tooling/synthetic';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEEPLAB_V3PLUS_PRESETS, TORCHVISION_DEEPLAB_PRESETS } from '../src/index.js';
import { useWasm } from './wasm.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Lets the worker answer vitest's RPC between long synchronous kernels. */
const breathe = () => new Promise((resolve) => setImmediate(resolve));

const ALL = [...FCN_RESNET_PRESETS, ...TORCHVISION_DEEPLAB_PRESETS, ...DEEPLAB_V3PLUS_PRESETS];

/** Mean cross-entropy over pixels (no ignored labels here). */
function crossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D): number {
  return tf.tidy(() => {
    const c = logits.shape[3];
    const logp = tf.logSoftmax(tf.reshape(logits, [-1, c]));
    const picked = tf.sum(
      tf.mul(logp, tf.oneHot(tf.cast(tf.reshape(labels, [-1]), 'int32') as tf.Tensor1D, c)),
      1,
    );
    return -tf.mean(picked).dataSync()[0]!;
  });
}

describe('torchvision and DeepLab v3+ presets', () => {
  it('are registered with their sources, resolve to settings, and their model configs validate', () => {
    expect(ALL.map((p) => p.name)).toEqual([
      'fcn-resnet50-torchvision',
      'fcn-resnet101-torchvision',
      'deeplabv3-resnet50-torchvision',
      'deeplabv3-resnet101-torchvision',
      'deeplabv3-mobilenetv3-large-torchvision',
      'lraspp-mobilenetv3-large-torchvision',
      'deeplabv3plus-resnet50-voc',
      'deeplabv3plus-resnet101-voc',
    ]);
    for (const preset of ALL) {
      expect(getTrainPreset(preset.name)).toBe(preset);
      expect(preset.source).toMatch(/references\/segmentation|DeepLab v3\+/);
      expect(() => validateModelConfig(preset.model, preset.modelConfig)).not.toThrow();
      const settings = presetSettings(preset.name);
      expect(settings.model).toBe(preset.model);
      expect(settings.lrPolicy).toBe('poly');
      expect(settings.lrPower).toBe(0.9);
      expect(settings.momentum).toBe(0.9);
    }
  });

  it("torchvision's README: lr 0.02 (ResNet) / 0.01 (MobileNetV3), wd 1e-4 / 1e-6, batch 4 x 8, crop 480, 30 epochs", () => {
    for (const name of ['fcn-resnet50', 'fcn-resnet101', 'deeplabv3-resnet50', 'deeplabv3-resnet101']) {
      const p = getTrainPreset(`${name}-torchvision`);
      expect([p.schedule.baseLr, p.optimizer.weightDecay, p.modelConfig.auxLoss]).toEqual([0.02, 1e-4, true]);
    }
    const mobile = getTrainPreset('deeplabv3-mobilenetv3-large-torchvision');
    expect([mobile.schedule.baseLr, mobile.optimizer.weightDecay, mobile.modelConfig.auxLoss]).toEqual([
      0.01,
      1e-6,
      true,
    ]);
    const lraspp = getTrainPreset('lraspp-mobilenetv3-large-torchvision');
    expect([lraspp.schedule.baseLr, lraspp.optimizer.weightDecay, lraspp.modelConfig.auxLoss]).toEqual([
      0.01,
      1e-6,
      undefined,
    ]);
    for (const p of [...FCN_RESNET_PRESETS, ...TORCHVISION_DEEPLAB_PRESETS]) {
      expect([p.batchSize, p.crop, p.scaleRange, p.flipProbability, p.lossReduction]).toEqual([
        32,
        [480, 480],
        [0.5, 2],
        0.5,
        'mean',
      ]);
      expect(p.steps).toBe(30 * Math.floor(10_582 / 32));
      expect(p.optimizer).toMatchObject({ type: 'sgd', momentum: 0.9 });
    }
  });

  it("DeepLab v3+: the paper's lr 0.007, poly 0.9, output stride 16, crop 513, batch 16, train_aug, 30K steps", () => {
    for (const p of DEEPLAB_V3PLUS_PRESETS) {
      expect(p.schedule).toEqual({ policy: 'poly', baseLr: 0.007, power: 0.9 });
      expect(p.modelConfig.outputStride).toBe(16);
      expect([p.crop, p.batchSize, p.trainSplit, p.steps, p.scaleRange]).toEqual([
        [513, 513],
        16,
        'train_aug',
        30_000,
        [0.5, 2],
      ]);
    }
  });

  it("torchvision's optimiser groups: aux_classifier at lr x10, decay on every parameter (batch norm too)", () => {
    const group = getModelDefinition('deeplabv3-resnet50').parameterGroup!;
    expect(group('aux_classifier.4.weight', undefined as never)).toEqual({
      lrMultiplier: 10,
      decayMultiplier: 1,
    });
    expect(group('backbone.bn1.weight', undefined as never)).toEqual({ lrMultiplier: 1, decayMultiplier: 1 });
    expect(group('classifier.4.bias', undefined as never)).toEqual({ lrMultiplier: 1, decayMultiplier: 1 });
    for (const name of ['fcn-resnet50', 'deeplabv3-mobilenetv3-large', 'lraspp-mobilenetv3-large'])
      expect(getModelDefinition(name).parameterGroup).toBe(group);
  });

  for (const preset of ALL) {
    it(`${preset.name}: one step of a width-reduced model through the Trainer${preset.modelConfig.auxLoss ? ', auxiliary loss x0.5' : ''}`, async () => {
      // wasm trains @semseg/layers' convolutions (depthwise included) fast.
      await useWasm();
      const start = tf.memory().numTensors;
      const width = preset.model.includes('mobilenet') ? 0.25 : 1 / 32;
      const model = createModel(
        preset.model,
        { ...preset.modelConfig, numClasses: 3, width },
        { rng: new Rng(3) },
      ) as SegmentationModel;
      const definition = getModelDefinition(preset.model);
      const trainer = new Trainer({
        model,
        optimizer: preset.optimizer,
        schedule: { ...preset.schedule, maxSteps: preset.steps },
        parameterGroup: definition.parameterGroup,
        lossReduction: preset.lossReduction,
      });
      const [n, size] = [2, 32];
      const { images, labels } = syntheticScenes(n, size, new Rng(3));
      const x = tf.tensor4d(images, [n, size, size, 3]);
      const y = tf.tensor3d(Int32Array.from(labels), [n, size, size], 'int32');
      // In eval mode (no dropout) the Trainer's loss is the hand-weighted sum of the outputs.
      model.eval();
      const outputs = model.trainingOutputs!(x, y);
      const aux = preset.modelConfig.auxLoss === true;
      expect(outputs.map((o) => o.weight)).toEqual(aux ? [1, 0.5] : [1]);
      const byHand = outputs.reduce((sum, o) => sum + o.weight * crossEntropy(o.logits, o.labels), 0);
      await breathe();
      const total = trainer.loss(x, y);
      expect(total.dataSync()[0]).toBeCloseTo(byHand, 5);
      tf.dispose([total, ...outputs.map((o) => o.logits)]);
      model.train();
      await breathe();
      const before = model.stateDict();
      const beforeValues = new Map(Object.entries(before).map(([k, t]) => [k, t.dataSync().slice()]));
      const { loss, lr } = await trainer.trainStep(images, labels, [n, size, size]);
      await breathe();
      expect(Number.isFinite(loss)).toBe(true);
      expect(lr).toBe(preset.schedule.baseLr);
      const changed = (name: string) => {
        const now = model.stateDict()[name]!.dataSync();
        const was = beforeValues.get(name)!;
        return now.some((v, i) => v !== was[i]);
      };
      const names = Object.keys(before);
      expect(names.filter((k) => k.startsWith('classifier.') && changed(k)).length).toBeGreaterThan(0);
      if (aux)
        expect(names.filter((k) => k.startsWith('aux_classifier.') && changed(k)).length).toBeGreaterThan(0);
      tf.dispose([x, y]);
      trainer.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
    }, 60_000);
  }
});
