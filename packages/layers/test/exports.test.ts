import { describe, expect, it } from 'vitest';
import * as layers from '../src/index.js';
import * as ops from '../src/ops/index.js';

// The main entry is what a model author reads; gradient and resampling internals live in ./ops.
describe('public face', () => {
  it('keeps every class and function the model packages build with in the main entry', () => {
    const used = [
      'Conv2d',
      'ConvTranspose2d',
      'BatchNorm2d',
      'MaxPool2d',
      'MaxUnpool2d',
      'Upsample',
      'ResizeConv2d',
      'Dropout2d',
      'ReLU',
      'Sequential',
      'classifier',
      'softmaxCrossEntropy',
      'l2WeightDecay',
      'heNormal',
      'normal',
      'zeros',
      'bilinear',
      'conv2d',
      'convTranspose2d',
      'maxPool2d',
      'maxPool2dWithSwitches',
      'maxUnpool2d',
      'poolOutputLength',
      'resize',
      'padOrCrop',
    ];
    for (const name of used) expect(typeof (layers as Record<string, unknown>)[name], name).toBe('function');
  });

  it('has the internals under @semseg/layers/ops only', () => {
    const internals = [
      'convFilterGradient',
      'convInputGradient',
      'forwardConv',
      'rotate180',
      'batchNormTraining',
      'filterGradientRoute',
      'interpolationMatrix',
      'depthToSpace',
      'spaceToDepth',
      'resolveConvPadding',
      'bedOfNails',
      'nearestByFactor',
    ];
    for (const name of internals) {
      expect(typeof (ops as Record<string, unknown>)[name], name).toBe('function');
      expect(name in layers, name).toBe(false);
    }
  });
});
