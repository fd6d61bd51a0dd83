// "Head only" for every architecture the page registers: the parameters that train are the
// classifier layers (kernels with numClasses outputs and their biases), nothing else.
import '@tensorflow/tfjs-backend-cpu';
import { Rng, createModel, listModels } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import '../src/models.js';
import { chooseTrainable, headParameterNames } from '../src/finetune/head.js';

// The classifier layers of each architecture, from its definition (torchvision's classifier.4 and
// aux_classifier.4, Caffe's score/fc8 layers...), at width 1/16 and 5 classes.
const EXPECTED: Record<string, string[]> = {
  deconvnet: ['score'],
  segnet: ['decoder.conv1_1_D'],
  'deeplab-v1': ['fc8'],
  'deeplab-v2': ['fc8_1', 'fc8_2', 'fc8_3', 'fc8_4'],
  'deeplabv3-mobilenetv3-large': ['classifier.4', 'aux_classifier.4'],
  'deeplabv3-resnet50': ['classifier.4', 'aux_classifier.4'],
  'deeplabv3-resnet101': ['classifier.4', 'aux_classifier.4'],
  'deeplabv3plus-resnet50': ['classifier.score'],
  'deeplabv3plus-resnet101': ['classifier.score'],
  dilatednet: ['final', 'context.ctx_final'],
  'fc-densenet56': ['classifier'],
  'fc-densenet67': ['classifier'],
  'fc-densenet103': ['classifier'],
  'fcn-resnet50': ['classifier.4', 'aux_classifier.4'],
  'fcn-resnet101': ['classifier.4', 'aux_classifier.4'],
  fcn32s: ['score_fr'],
  fcn16s: ['score_fr', 'score_pool4'],
  fcn8s: ['score_fr', 'score_pool4', 'score_pool3'],
  'lraspp-mobilenetv3-large': ['classifier.low_classifier', 'classifier.high_classifier'],
  'pspnet-resnet50': ['cls.4', 'aux.4'],
  'pspnet-resnet101': ['cls.4', 'aux.4'],
  unet: ['head'],
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('head-only fine-tuning', () => {
  // dilated-context needs a front-end model name; the others build from width and classes alone.
  const buildable = listModels().filter((m) => m.name !== 'dilated-context');

  it('knows every registered architecture', () => {
    expect(buildable.map((m) => m.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const name of Object.keys(EXPECTED)) {
    it(`${name}: trains its classifier layers' kernels and biases only`, () => {
      const model = createModel(name, { width: 1 / 16, numClasses: 5 }, { rng: new Rng(0) });
      try {
        const expected = EXPECTED[name]!.flatMap((layer) => [`${layer}.weight`, `${layer}.bias`]).sort();
        expect(headParameterNames(model).sort()).toEqual(expected);
        const frozenBefore = model
          .namedParameters()
          .filter((p) => !p.trainable)
          .map((p) => p.name);
        const summary = chooseTrainable(model, 'head');
        expect(summary.names.sort()).toEqual(expected);
        expect(summary.scalars).toBeLessThan(summary.total / 2);
        // Parameters the model froze itself (FCN's fixed bilinear upsampling) stay frozen.
        for (const frozen of frozenBefore) expect(summary.names).not.toContain(frozen);
      } finally {
        model.dispose();
      }
    });
  }

  it("'all' keeps the model's own frozen parameters frozen", () => {
    const model = createModel('fcn8s', { width: 1 / 16, numClasses: 5 }, { rng: new Rng(0) });
    try {
      const summary = chooseTrainable(model, 'all');
      const parameters = model.namedParameters();
      expect(summary.names).toEqual(parameters.filter((p) => p.trainable).map((p) => p.name));
      expect(summary.names).not.toContain('upscore8.weight');
      expect(summary.names).toContain('backbone.conv1_1.weight');
    } finally {
      model.dispose();
    }
  });
});
