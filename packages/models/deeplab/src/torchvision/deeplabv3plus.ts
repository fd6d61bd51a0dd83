import { Module, type Rng } from '@semseg/core';
import { FCNHead, type HeadLogits, TorchvisionSegmentationModel, upsampleTo } from '@semseg/fcn';
import { Conv2d, Sequential } from '@semseg/layers';
import { ResNet, dilationForOutputStride } from '@semseg/resnet';
import * as tf from '@tensorflow/tfjs-core';
import { ASPP, ASPP_RATES_OS8, ASPP_RATES_OS16, convBnRelu } from './aspp.js';
import { type DeepLabV3PlusConfig, deeplabV3PlusConfigSchema, parsed } from './config.js';

/** Low-level channels after the 1x1 reduction (the paper's 48). */
export const DECODER_LOW_LEVEL_CHANNELS = 48;
const ASPP_CHANNELS = 256;

/**
 * The DeepLab v3+ decoder (Chen et al. 2018, Sec. 3.1 and Fig. 2): `aspp` on layer4; layer1's
 * features reduced to 48 channels (`reduce`: 1x1 conv, batch norm, ReLU); the ASPP output upsampled
 * bilinearly to layer1's size and concatenated with them; `fuse`: two 3x3 convs of 256 with batch
 * norm and ReLU; `score`: 1x1 to the classes (upsampled x4 to the input by the model).
 */
export class DeepLabV3PlusHead extends Module {
  readonly aspp: ASPP;
  readonly reduce: Sequential;
  readonly fuse: Sequential;
  readonly score: Conv2d;

  constructor(
    highChannels: number,
    lowChannels: number,
    numClasses: number,
    rates: readonly number[],
    rng: Rng,
  ) {
    super();
    this.aspp = this.registerModule('aspp', new ASPP(highChannels, rates, rng, ASPP_CHANNELS));
    this.reduce = this.registerModule(
      'reduce',
      new Sequential(convBnRelu(lowChannels, DECODER_LOW_LEVEL_CHANNELS, 1, rng)),
    );
    this.fuse = this.registerModule(
      'fuse',
      new Sequential([
        ...convBnRelu(ASPP_CHANNELS + DECODER_LOW_LEVEL_CHANNELS, ASPP_CHANNELS, 3, rng),
        ...convBnRelu(ASPP_CHANNELS, ASPP_CHANNELS, 3, rng),
      ]),
    );
    this.score = this.registerModule(
      'score',
      new Conv2d({ inChannels: ASPP_CHANNELS, outChannels: numClasses, kernelSize: 1, rng }),
    );
  }

  forward(low: tf.Tensor4D, high: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const context = upsampleTo(this.aspp.forward(high), low.shape[1], low.shape[2]);
      const fused = this.fuse.forward(tf.concat([context, this.reduce.forward(low)], 3) as tf.Tensor4D);
      return this.score.forward(fused);
    });
  }
}

/**
 * DeepLab v3+ on a torchvision ResNet: output stride 16 (layer4 dilated, ASPP 6/12/18) or 8
 * (layer3 and layer4 dilated, 12/24/36), the decoder on layer1. Names follow torchvision's
 * conventions (`backbone.*` as its ResNet, `classifier.aspp.*` as its ASPP), so ImageNet ResNet
 * files initialise the backbone.
 */
export class DeepLabV3PlusResNet extends TorchvisionSegmentationModel {
  readonly config: ReturnType<typeof deeplabV3PlusConfigSchema.parse>;
  readonly numClasses: number;
  readonly backbone: ResNet;
  readonly classifier: DeepLabV3PlusHead;
  readonly auxClassifier: FCNHead | null;

  constructor(depth: 50 | 101, config: DeepLabV3PlusConfig, rng: Rng) {
    super();
    this.config = parsed(deeplabV3PlusConfigSchema, config, `deeplabv3plus-resnet${depth}`);
    const c = this.config;
    this.numClasses = c.numClasses;
    this.backbone = this.registerModule(
      'backbone',
      new ResNet(
        {
          depth,
          replaceStrideWithDilation: dilationForOutputStride(c.outputStride),
          frozenBatchNorm: c.frozenBatchNorm,
          width: c.width,
        },
        rng.derive('backbone'),
      ),
    );
    const { layer1, layer3, layer4 } = this.backbone.channels;
    const rates = c.outputStride === 16 ? ASPP_RATES_OS16 : ASPP_RATES_OS8;
    this.classifier = this.registerModule(
      'classifier',
      new DeepLabV3PlusHead(layer4, layer1, c.numClasses, rates, rng.derive('classifier')),
    );
    this.auxClassifier = c.auxLoss
      ? this.registerModule('aux_classifier', new FCNHead(layer3, c.numClasses, rng.derive('aux')))
      : null;
  }

  protected headLogits(images: tf.Tensor4D, withAux: boolean): HeadLogits {
    return tf.tidy(() => {
      const features = this.backbone.features(images);
      const out = this.classifier.forward(features.layer1!, features.layer4!);
      const aux = withAux && this.auxClassifier ? this.auxClassifier.forward(features.layer3!) : undefined;
      return aux ? { out, aux } : { out };
    });
  }
}
