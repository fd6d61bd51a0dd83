import type { Rng } from '@semseg/core';
import type { VGG16 } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';
import { caffeAveragePool3x3 } from './caffe-ops.js';
import {
  type DeepLabV1Config,
  type ResolvedDeepLabV1Config,
  deeplabV1ConfigSchema,
  parseConfig,
} from './config.js';
import { type StrideEightRules, StrideEightSegmenter } from './segmenter.js';
import { type FcBranch, deeplabVgg16, fcBranch, runFcBranch } from './vgg-heads.js';

/**
 * DeepLab-LargeFOV (Chen et al., ICLR 2015), layer for layer as the released train/test
 * prototxts: DeepLab's VGG16 to pool5, pool5a (3x3 stride 1 pad 1 average pooling), fc6 3x3
 * dilation 12 with 1024 channels, fc7 1x1 1024, dropout 0.5 after both, fc8 1x1 to the classes;
 * output stride 8; Interp x8 (bilinear, aligned corners) to the input. Parameters:
 * `backbone.conv1_1.*` .. `backbone.conv5_3.*`, `fc6.*`, `fc7.*`, `fc8.*` (`fc8_voc12` in the
 * released caffemodel).
 */
export class DeepLabV1 extends StrideEightSegmenter {
  readonly config: ResolvedDeepLabV1Config;
  readonly numClasses: number;
  readonly backbone: VGG16;
  readonly head: FcBranch;
  protected readonly rules: StrideEightRules;

  constructor(config: DeepLabV1Config, rng: Rng) {
    super();
    const c = parseConfig(deeplabV1ConfigSchema, config, 'deeplab-v1');
    this.config = c;
    this.numClasses = c.numClasses;
    this.rules = { sizeRule: c.sizeRule, lossResolution: c.lossResolution, scales: [1] };
    this.backbone = this.registerModule('backbone', deeplabVgg16(c.width, rng.derive('backbone')));
    this.head = fcBranch(
      (name, module) => this.registerModule(name, module),
      { fc6: 'fc6', drop6: 'drop6', fc7: 'fc7', drop7: 'drop7', fc8: 'fc8' },
      {
        inChannels: this.backbone.channels.pool5,
        width: c.width,
        dilation: 12,
        numClasses: c.numClasses,
        dropout: c.dropout,
        rng,
      },
    );
  }

  /** fc8 at stride 8: (H - 1) / 8 + 1 on 8k+1 inputs. */
  scores(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { pool3, pool4, pool5 } = this.backbone.forward(x);
      tf.dispose([pool3, pool4]);
      return runFcBranch(this.head, caffeAveragePool3x3(pool5));
    });
  }
}
