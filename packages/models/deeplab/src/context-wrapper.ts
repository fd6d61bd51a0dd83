import { Module, type Normalization, type Rng, type SegmentationModel, createModel } from '@semseg/core';
import type * as tf from '@tensorflow/tfjs-core';
import {
  type ContextWrapperConfig,
  type ResolvedContextWrapperConfig,
  contextWrapperConfigSchema,
  parseConfig,
} from './config.js';
import { ContextModule } from './context.js';

/**
 * Yu & Koltun's context module stacked on any registered model: the inner model's logits (at the
 * input's size) go through the identity-initialised module. Parameters: `inner.*`, `context.*`.
 */
export class ContextOnModel extends Module implements SegmentationModel {
  readonly config: ResolvedContextWrapperConfig;
  readonly numClasses: number;
  readonly inner: SegmentationModel;
  readonly context: ContextModule;

  constructor(config: ContextWrapperConfig, rng: Rng) {
    super();
    const c = parseConfig(contextWrapperConfigSchema, config, 'dilated-context');
    this.config = c;
    this.inner = this.registerModule(
      'inner',
      createModel(c.model, c.modelConfig, { rng: rng.derive('inner') }),
    );
    this.numClasses = this.inner.numClasses;
    this.context = this.registerModule(
      'context',
      new ContextModule({ classes: this.numClasses, variant: c.context, rng: rng.derive('context') }),
    );
    if (!c.trainInner) this.setTrainable(false, 'inner.');
  }

  get normalization(): Normalization | undefined {
    return this.inner.normalization;
  }

  forward(images: tf.Tensor4D): tf.Tensor4D {
    const logits = this.inner.forward(images);
    try {
      return this.context.forward(logits);
    } finally {
      logits.dispose();
    }
  }
}
