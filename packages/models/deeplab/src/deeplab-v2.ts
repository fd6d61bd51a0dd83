import type { Module, Normalization, Rng } from '@semseg/core';
import { Conv2d, normal, zeros } from '@semseg/layers';
import { ResNet } from '@semseg/resnet';
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
 * DeepLab v2 (Chen et al., TPAMI 2017). On VGG16: DeepLab's VGG16 to pool5, then ASPP, one
 * LargeFOV branch per rate (fc6_k 3x3 dilation r_k, 1024 / fc7_k 1x1 1024 / fc8_k to the classes,
 * dropout 0.5), the branches' scores summed (the prototxt's Eltwise SUM `fc8_voc12`). On
 * ResNet-101 (the paper's best model): a dilated ResNet-101 at output stride 8 (torchvision's
 * layout and names, `replace_stride_with_dilation` [false, true, true], batch norm frozen as the
 * released model's `use_global_stats`), then one 3x3 conv per rate from layer4 straight to the
 * classes (the released `fc1_voc12_c0..c3`), summed. ASPP-L rates 6, 12, 18, 24; ASPP-S 2, 4, 8,
 * 12. Optional multi-scale inputs with max fusion (see StrideEightSegmenter). Parameters:
 * `backbone.*`, then `fc6_1.*`, `fc7_1.*`, `fc8_1.*`, ... (VGG16) or `fc1_c0.*` ... (ResNet-101).
 */
export class DeepLabV2 extends StrideEightSegmenter {
  readonly config: ResolvedDeepLabV2Config;
  readonly numClasses: number;
  readonly backbone: VGG16 | ResNet;
  /** VGG16's LargeFOV branches (empty on ResNet-101). */
  readonly branches: FcBranch[] = [];
  /** ResNet-101's ASPP convs (empty on VGG16). */
  readonly asppConvs: Conv2d[] = [];
  protected readonly rules: StrideEightRules;

  constructor(config: DeepLabV2Config, rng: Rng) {
    super();
    const parsed = parseConfig(deeplabV2ConfigSchema, config, 'deeplab-v2');
    const c: ResolvedDeepLabV2Config = { ...parsed, scales: parsed.scales ?? defaultScales(parsed.backbone) };
    this.config = c;
    this.numClasses = c.numClasses;
    this.rules = { sizeRule: c.sizeRule, lossResolution: c.lossResolution, scales: c.scales };
    if (c.backbone === 'resnet101') {
      const resnet = new ResNet(
        {
          depth: 101,
          replaceStrideWithDilation: [false, true, true],
          frozenBatchNorm: true,
          numClasses: null,
          width: c.width,
        },
        rng.derive('backbone'),
      );
      this.backbone = this.registerModule('backbone', resnet);
      this.asppConvs = c.rates.map((rate, i) =>
        this.registerModule(
          `fc1_c${i}`,
          new Conv2d({
            inChannels: resnet.channels.layer4,
            outChannels: c.numClasses,
            kernelSize: 3,
            dilation: rate,
            padding: rate,
            rng: rng.derive(`fc1_c${i}`),
            weightInit: normal(0.01),
            biasInit: zeros(),
          }),
        ),
      );
      return;
    }
    const vgg = this.registerModule('backbone', deeplabVgg16(c.width, rng.derive('backbone')));
    this.backbone = vgg;
    const register = <M extends Module>(name: string, module: M) => this.registerModule(name, module);
    this.branches = c.rates.map((rate, i) => {
      const k = i + 1;
      return fcBranch(
        register,
        { fc6: `fc6_${k}`, drop6: `drop6_${k}`, fc7: `fc7_${k}`, drop7: `drop7_${k}`, fc8: `fc8_${k}` },
        {
          inChannels: vgg.channels.pool5,
          width: c.width,
          dilation: rate,
          numClasses: c.numClasses,
          dropout: c.dropout,
          rng,
        },
      );
    });
  }

  /** ResNet-101 takes torchvision's ImageNet normalisation; VGG16 DeepLab's. */
  override get normalization(): Normalization {
    return this.backbone instanceof ResNet ? this.backbone.normalization : super.normalization;
  }

  /** The ASPP branches' scores, one by one (their sum is `scores`). */
  branchScores(x: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const features = this.features(x);
      if (this.backbone instanceof ResNet) return this.asppConvs.map((conv) => conv.forward(features));
      return this.branches.map((b) => runFcBranch(b, features));
    });
  }

  scores(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const scores = this.branchScores(x);
      return scores.length === 1 ? scores[0]! : (tf.addN(scores) as tf.Tensor4D);
    });
  }

  /** pool5 (VGG16) or layer4 (ResNet-101), at output stride 8. */
  private features(x: tf.Tensor4D): tf.Tensor4D {
    if (this.backbone instanceof ResNet) {
      const { layer1, layer2, layer3, layer4 } = this.backbone.features(x);
      tf.dispose([layer1!, layer2!, layer3!]);
      return layer4!;
    }
    const { pool3, pool4, pool5 } = this.backbone.forward(x);
    tf.dispose([pool3, pool4]);
    return pool5;
  }
}
