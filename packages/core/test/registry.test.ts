import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  Module,
  Rng,
  type SegmentationModel,
  createModel,
  getModelDefinition,
  listModels,
  registerModel,
} from '../src/index.js';

class ConstantModel extends Module implements SegmentationModel {
  constructor(
    readonly numClasses: number,
    rng: Rng,
  ) {
    super();
    this.registerParameter('bias', tf.tensor1d(rng.fillNormal(new Float32Array(numClasses))));
  }
  forward(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, h, w] = images.shape;
      return tf.add(tf.zeros([n, h, w, this.numClasses]), this.stateDict().bias!) as tf.Tensor4D;
    });
  }
}

const schema = z.object({
  numClasses: z.number().int().min(2).default(21),
  width: z.number().positive().max(1).default(1),
});

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerModel({
    name: 'constant',
    description: 'a test model',
    configSchema: schema,
    create: (config, { rng }) => new ConstantModel(config.numClasses, rng),
  });
});

describe('model registry', () => {
  it('builds a registered model from its name and a validated config with defaults', () => {
    const model = createModel('constant', { numClasses: 3 }, { rng: new Rng(1) });
    expect(model.numClasses).toBe(3);
    const out = model.forward(tf.zeros([1, 2, 2, 3]));
    expect(out.shape).toEqual([1, 2, 2, 3]);
    out.dispose();
    model.dispose();
    const defaults = createModel('constant', undefined, { rng: new Rng(1) });
    expect(defaults.numClasses).toBe(21);
    defaults.dispose();
    expect(listModels().map((m) => m.name)).toContain('constant');
    expect(getModelDefinition('constant').description).toBe('a test model');
  });

  it('names every bad config field', () => {
    expect(() => createModel('constant', { numClasses: 1, width: 2 }, { rng: new Rng(1) })).toThrow(
      ConfigError,
    );
    expect(() => createModel('constant', { numClasses: 1, width: 2 }, { rng: new Rng(1) })).toThrow(
      /invalid config for model 'constant': numClasses: .*; width: /,
    );
  });

  it('lists the registered models when the name is unknown', () => {
    expect(() => getModelDefinition('fcn9s')).toThrow(/unknown model 'fcn9s'; registered models: .*constant/);
  });

  it('rejects names that would not survive a command line', () => {
    expect(() =>
      registerModel({
        name: 'Bad Name',
        description: '',
        configSchema: schema,
        create: () => new ConstantModel(2, new Rng(0)),
      }),
    ).toThrow(/must be lower case/);
  });
});
