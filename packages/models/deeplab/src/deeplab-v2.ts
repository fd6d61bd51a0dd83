import { ConfigError, type Module, type Rng } from '@semseg/core';
import type { VGG16 } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';
import {
  type DeepLabV2Config,
  type ResolvedDeepLabV2Config,
  deeplabV2ConfigSchema,
  parseConfig,
} from './config.js';
import { type StrideEightRules, StrideEightSegmenter } from './segmenter.js';
import { type FcBranch, deeplabVgg16, fcBranch, runFcBranch } from './vgg-heads.js';

/** Default scales: the released ResNet-101 model is MSC (1, 0.75, 0.5); the VGG16 one is not. */
export function defaultScales(backbone: 'vgg16' | 'resnet101'): number[] {
  return backbone === 'resnet101' ? [1, 0.75, 0.5] : [1];
}

/**
 * DeepLab v2 (Chen et al., TPAMI 2017) on VGG16: DeepLab's VGG16 to pool5, then ASPP: one LargeFOV
 * branch per rate (fc6_k 3x3 dilation r_k, 1024 / fc7_k 1x1 1024 / fc8_k to the classes, dropout
 * 0.5), the branches' scores summed (the prototxt's Eltwise SUM `fc8_voc12`). ASPP-L rates 6, 12,
 * 18, 24; ASPP-S 2, 4, 8, 12. Optional multi-scale inputs with max fusion (see
 * StrideEightSegmenter). Parameters: `backbone.*`, `fc6_1.*`, `fc7_1.*`, `fc8_1.*`, ... (the
 * released `fc8_voc12_1` ...).
 */
export class DeepLabV2 extends StrideEightSegmenter {
  readonly config: ResolvedDeepLabV2Config;
  readonly numClasses: number;
  readonly backbone: VGG16;
  readonly branches: FcBranch[];
  protected readonly rules: StrideEightRules;

  constructor(config: DeepLabV2Config, rng: Rng) {
    super();
    const parsed = parseConfig(deeplabV2ConfigSchema, config, 'deeplab-v2');
    if (parsed.backbone !== 'vgg16') {
      throw new ConfigError(
        `deeplab-v2: backbone '${parsed.backbone}' needs @semseg/resnet, which is not available yet; use 'vgg16'`,
      );
    }
    const c: ResolvedDeepLabV2Config = { ...parsed, scales: parsed.scales ?? defaultScales(parsed.backbone) };
    this.config = c;
    this.numClasses = c.numClasses;
    this.rules = { sizeRule: c.sizeRule, lossResolution: c.lossResolution, scales: c.scales };
    this.backbone = this.registerModule('backbone', deeplabVgg16(c.width, rng.derive('backbone')));
    const register = <M extends Module>(name: string, module: M) => this.registerModule(name, module);
    this.branches = c.rates.map((rate, i) => {
      const k = i + 1;
      return fcBranch(
        register,
        { fc6: `fc6_${k}`, drop6: `drop6_${k}`, fc7: `fc7_${k}`, drop7: `drop7_${k}`, fc8: `fc8_${k}` },
        {
          inChannels: this.backbone.channels.pool5,
          width: c.width,
          dilation: rate,
          numClasses: c.numClasses,
          dropout: c.dropout,
          rng,
        },
      );
    });
  }

  /** The ASPP branches' fc8 scores of pool5, one by one (their sum is `scores`). */
  branchScores(x: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const pool5 = this.pool5(x);
      return this.branches.map((b) => runFcBranch(b, pool5));
    });
  }

  scores(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const pool5 = this.pool5(x);
      const scores = this.branches.map((b) => runFcBranch(b, pool5));
      return scores.length === 1 ? scores[0]! : (tf.addN(scores) as tf.Tensor4D);
    });
  }

  private pool5(x: tf.Tensor4D): tf.Tensor4D {
    const { pool3, pool4, pool5 } = this.backbone.forward(x);
    tf.dispose([pool3, pool4]);
    return pool5;
  }
}
