import { Module, type Rng } from '@semseg/core';
import { type HeadLogits, TorchvisionSegmentationModel, upsampleTo } from '@semseg/fcn';
import { AdaptiveAvgPool2d, Conv2d, ReLU, Sequential, Sigmoid, TorchBatchNorm2d } from '@semseg/layers';
import { MobileNetV3Features } from '@semseg/mobilenetv3';
import * as tf from '@tensorflow/tfjs-core';
import { type LrasppConfig, lrasppConfigSchema, parsed } from './config.js';

/**
 * torchvision's LRASPPHead (Howard et al. 2019, Fig. 10): `cbr` (1x1 conv, batch norm, ReLU) on the
 * stride-16 features times `scale` (global average, 1x1 conv, sigmoid), bilinear up to the stride-8
 * features, `high_classifier` of that plus `low_classifier` of the stride-8 features.
 */
export class LRASPPHead extends Module {
  readonly cbr: Sequential;
  readonly scale: Sequential;
  readonly lowClassifier: Conv2d;
  readonly highClassifier: Conv2d;

  constructor(
    lowChannels: number,
    highChannels: number,
    numClasses: number,
    interChannels: number,
    rng: Rng,
  ) {
    super();
    this.cbr = this.registerModule(
      'cbr',
      new Sequential([
        new Conv2d({ inChannels: highChannels, outChannels: interChannels, kernelSize: 1, bias: false, rng }),
        new TorchBatchNorm2d(interChannels),
        new ReLU(),
      ]),
    );
    this.scale = this.registerModule(
      'scale',
      new Sequential([
        new AdaptiveAvgPool2d(1),
        new Conv2d({ inChannels: highChannels, outChannels: interChannels, kernelSize: 1, bias: false, rng }),
        new Sigmoid(),
      ]),
    );
    this.lowClassifier = this.registerModule(
      'low_classifier',
      new Conv2d({ inChannels: lowChannels, outChannels: numClasses, kernelSize: 1, rng }),
    );
    this.highClassifier = this.registerModule(
      'high_classifier',
      new Conv2d({ inChannels: interChannels, outChannels: numClasses, kernelSize: 1, rng }),
    );
  }

  forward(low: tf.Tensor4D, high: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const x = tf.mul(this.cbr.forward(high), this.scale.forward(high)) as tf.Tensor4D;
      const up = upsampleTo(x, low.shape[1], low.shape[2]);
      return tf.add(this.lowClassifier.forward(low), this.highClassifier.forward(up)) as tf.Tensor4D;
    });
  }
}

/** torchvision's `lraspp_mobilenet_v3_large`: dilated MobileNetV3-Large, LRASPPHead on children 4 and 16. */
export class LRASPPMobileNet extends TorchvisionSegmentationModel {
  readonly config: ReturnType<typeof lrasppConfigSchema.parse>;
  readonly numClasses: number;
  readonly backbone: MobileNetV3Features;
  readonly classifier: LRASPPHead;
  /** [low, high]: torchvision's stage_indices[-4] and [-1]. */
  readonly taps: [number, number];

  constructor(config: LrasppConfig, rng: Rng) {
    super();
    this.config = parsed(lrasppConfigSchema, config, 'lraspp-mobilenetv3-large');
    this.numClasses = this.config.numClasses;
    this.backbone = this.registerModule(
      'backbone',
      new MobileNetV3Features({ dilated: true, width: this.config.width }, rng.derive('backbone')),
    );
    const stages = this.backbone.stageIndices;
    this.taps = [stages.at(-4)!, stages.at(-1)!];
    const channels = this.backbone.outChannels;
    this.classifier = this.registerModule(
      'classifier',
      new LRASPPHead(
        channels[this.taps[0]]!,
        channels[this.taps[1]]!,
        this.numClasses,
        this.config.interChannels,
        rng.derive('classifier'),
      ),
    );
  }

  protected headLogits(images: tf.Tensor4D): HeadLogits {
    return tf.tidy(() => {
      const [low, high] = this.backbone.taps(images, this.taps);
      return { out: this.classifier.forward(low!, high!) };
    });
  }
}
