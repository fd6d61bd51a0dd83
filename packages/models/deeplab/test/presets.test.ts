import { getTrainPreset, validateModelConfig } from '@semseg/core';
import { describe, expect, it } from 'vitest';
import { DEEPLAB_PRESETS } from '../src/index.js';

describe('training presets', () => {
  it('are registered, each with a source, and their model configs validate', () => {
    expect(DEEPLAB_PRESETS.map((p) => p.name)).toEqual([
      'deeplab-v1-voc',
      'deeplab-v2-vgg16-voc',
      'deeplab-v2-vgg16-aspp-s-voc',
      'deeplab-v2-resnet101-voc',
      'dilatednet-frontend-voc',
      'dilatednet-context-voc',
      'dilatednet-joint-voc',
    ]);
    for (const preset of DEEPLAB_PRESETS) {
      expect(getTrainPreset(preset.name)).toBe(preset);
      expect(preset.source.length).toBeGreaterThan(20);
      expect(() => validateModelConfig(preset.model, preset.modelConfig)).not.toThrow();
    }
  });

  it("DeepLab v1: the paper's step policy, batch, crop, iterations and SBD", () => {
    const p = getTrainPreset('deeplab-v1-voc');
    expect(p.schedule).toEqual({ policy: 'step', baseLr: 1e-3, stepSize: 2000, gamma: 0.1 });
    expect(p.optimizer).toEqual({ type: 'sgd', momentum: 0.9, weightDecay: 5e-4 });
    expect([p.batchSize, p.steps, p.crop, p.trainSplit]).toEqual([20, 6000, [321, 321], 'train_aug']);
  });

  it('DeepLab v2: poly 0.9 at 1e-3 (VGG16) and 2.5e-4 (ResNet-101, random scaling, MSC)', () => {
    expect(getTrainPreset('deeplab-v2-vgg16-voc').schedule).toEqual({
      policy: 'poly',
      baseLr: 1e-3,
      power: 0.9,
    });
    const r = getTrainPreset('deeplab-v2-resnet101-voc');
    expect(r.schedule).toEqual({ policy: 'poly', baseLr: 2.5e-4, power: 0.9 });
    expect(r.scaleRange).toEqual([0.5, 1.5]);
    expect(r.modelConfig.scales).toEqual([1, 0.75, 0.5]);
  });

  it('DilatedNet stages chain by initFrom', () => {
    expect(getTrainPreset('dilatednet-context-voc').initFrom).toBe('dilatednet-frontend-voc');
    expect(getTrainPreset('dilatednet-joint-voc').initFrom).toBe('dilatednet-context-voc');
  });
});
