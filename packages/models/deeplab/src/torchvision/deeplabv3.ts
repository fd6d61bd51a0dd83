import type { Rng } from '@semseg/core';
import {
  FCNHead,
  type HeadLogits,
  type ResolvedTorchvisionResNetSegConfig,
  type TorchvisionResNetSegConfig,
  TorchvisionSegmentationModel,
  parseResNetSegConfig,
  segmentationResNet,
} from '@semseg/fcn';
import { MobileNetV3Features } from '@semseg/mobilenetv3';
import type { ResNet } from '@semseg/resnet';
import * as tf from '@tensorflow/tfjs-core';
import { DeepLabHead } from './aspp.js';
import { type TorchvisionMobileNetSegConfig, parsed, torchvisionMobileNetSegConfigSchema } from './config.js';

/**
 * torchvision's `deeplabv3_resnet50` / `deeplabv3_resnet101`: ResNet at output stride 8,
 * `classifier` = DeepLabHead(2048) (ASPP rates 12, 24, 36), `aux_classifier` = FCNHead(1024) on layer3.
 */
export class DeepLabV3ResNet extends TorchvisionSegmentationModel {
  readonly config: ResolvedTorchvisionResNetSegConfig;
  readonly numClasses: number;
  readonly backbone: ResNet;
  readonly classifier: DeepLabHead;
  readonly auxClassifier: FCNHead | null;

  constructor(depth: 50 | 101, config: TorchvisionResNetSegConfig, rng: Rng) {
    super();
    this.config = parseResNetSegConfig(config, `deeplabv3-resnet${depth}`);
    this.numClasses = this.config.numClasses;
    this.backbone = this.registerModule(
      'backbone',
      segmentationResNet(depth, this.config, rng.derive('backbone')),
    );
    const { layer3, layer4 } = this.backbone.channels;
    this.classifier = this.registerModule(
      'classifier',
      new DeepLabHead(layer4, this.numClasses, rng.derive('classifier')),
    );
    this.auxClassifier = this.config.auxLoss
      ? this.registerModule('aux_classifier', new FCNHead(layer3, this.numClasses, rng.derive('aux')))
      : null;
  }

  protected headLogits(images: tf.Tensor4D, withAux: boolean): HeadLogits {
    return tf.tidy(() => {
      const features = this.backbone.features(images);
      const out = this.classifier.forward(features.layer4!);
      const aux = withAux && this.auxClassifier ? this.auxClassifier.forward(features.layer3!) : undefined;
      return aux ? { out, aux } : { out };
    });
  }
}

/**
 * torchvision's `deeplabv3_mobilenet_v3_large`: the dilated MobileNetV3-Large `features` as
 * `backbone` (output stride 16), DeepLabHead(960) on its last child, FCNHead(40) on child 4 (C2).
 */
export class DeepLabV3MobileNet extends TorchvisionSegmentationModel {
  readonly config: ReturnType<typeof torchvisionMobileNetSegConfigSchema.parse>;
  readonly numClasses: number;
  readonly backbone: MobileNetV3Features;
  readonly classifier: DeepLabHead;
  readonly auxClassifier: FCNHead | null;
  /** Children of `backbone` the heads read: [main, auxiliary] (torchvision's stage_indices[-1], [-4]). */
  readonly taps: [number, number];

  constructor(config: TorchvisionMobileNetSegConfig, rng: Rng) {
    super();
    this.config = parsed(torchvisionMobileNetSegConfigSchema, config, 'deeplabv3-mobilenetv3-large');
    this.numClasses = this.config.numClasses;
    this.backbone = this.registerModule(
      'backbone',
      new MobileNetV3Features({ dilated: true, width: this.config.width }, rng.derive('backbone')),
    );
    const stages = this.backbone.stageIndices;
    this.taps = [stages.at(-1)!, stages.at(-4)!];
    const channels = this.backbone.outChannels;
    this.classifier = this.registerModule(
      'classifier',
      new DeepLabHead(channels[this.taps[0]]!, this.numClasses, rng.derive('classifier')),
    );
    this.auxClassifier = this.config.auxLoss
      ? this.registerModule(
          'aux_classifier',
          new FCNHead(channels[this.taps[1]]!, this.numClasses, rng.derive('aux')),
        )
      : null;
  }

  protected headLogits(images: tf.Tensor4D, withAux: boolean): HeadLogits {
    return tf.tidy(() => {
      const [high, low] = this.backbone.taps(images, this.taps);
      const out = this.classifier.forward(high!);
      const aux = withAux && this.auxClassifier ? this.auxClassifier.forward(low!) : undefined;
      return aux ? { out, aux } : { out };
    });
  }
}
