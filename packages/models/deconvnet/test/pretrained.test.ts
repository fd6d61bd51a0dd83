import { Rng, createModel, getModelDefinition } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The ImageNet path itself is @semseg/vgg16's (tested there against real Caffe and torchvision
// files); here: both definitions declare it and route it to their encoder, with clear refusals.
describe('--pretrained for DeconvNet and SegNet', () => {
  it('declares an ImageNet VGG16 initialisation and hands the file to the encoder', async () => {
    for (const name of ['deconvnet', 'segnet']) {
      const definition = getModelDefinition(name);
      expect(definition.pretrained?.description, name).toMatch(/ImageNet VGG16/);
      const model = createModel(name, { numClasses: 3, width: 1 / 16 }, { rng: new Rng(1) });
      // A width-1/16 encoder cannot take ImageNet weights: the encoder's own one-line refusal.
      await expect(
        definition.pretrained!.load(model, { name: 'vgg16.h5', data: new Uint8Array(8) }),
      ).rejects.toThrow(/vgg16\.h5/);
      model.dispose();
    }
  });

  it('SegNet-Basic has no VGG16 encoder and says so', async () => {
    const model = createModel(
      'segnet',
      { numClasses: 3, variant: 'basic', width: 1 / 8 },
      { rng: new Rng(1) },
    );
    await expect(
      getModelDefinition('segnet').pretrained!.load(model, { name: 'vgg16.h5', data: new Uint8Array(8) }),
    ).rejects.toThrow('SegNet-Basic has no VGG16 encoder to take ImageNet weights');
    model.dispose();
  });
});
