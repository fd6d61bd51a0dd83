import { ConfigError, type Rng } from '@semseg/core';
import { ResNet, dilationForOutputStride } from '@semseg/resnet';
import * as tf from '@tensorflow/tfjs-core';
import { FCNHead, type HeadLogits, TorchvisionSegmentationModel } from './base.js';
import {
  type ResolvedTorchvisionResNetSegConfig,
  type TorchvisionResNetSegConfig,
  torchvisionResNetSegConfigSchema,
} from './config.js';

export function parseResNetSegConfig(
  config: TorchvisionResNetSegConfig,
  what: string,
): ResolvedTorchvisionResNetSegConfig {
  const parsed = torchvisionResNetSegConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid ${what} config: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** The dilated ResNet (output stride 8) of torchvision's FCN and DeepLabV3 builders. */
export function segmentationResNet(
  depth: 50 | 101,
  config: ResolvedTorchvisionResNetSegConfig,
  rng: Rng,
): ResNet {
  return new ResNet(
    {
      depth,
      replaceStrideWithDilation: dilationForOutputStride(8),
      frozenBatchNorm: config.frozenBatchNorm,
      width: config.width,
    },
    rng,
  );
}

/**
 * torchvision's `fcn_resnet50` / `fcn_resnet101` (segmentation/fcn.py): ResNet at output stride 8,
 * `classifier` = FCNHead(2048) on layer4, `aux_classifier` = FCNHead(1024) on layer3.
 */
export class FcnResNet extends TorchvisionSegmentationModel {
  readonly depth: 50 | 101;
  readonly config: ResolvedTorchvisionResNetSegConfig;
  readonly numClasses: number;
  readonly backbone: ResNet;
  readonly classifier: FCNHead;
  readonly auxClassifier: FCNHead | null;

  constructor(depth: 50 | 101, config: TorchvisionResNetSegConfig, rng: Rng) {
    super();
    this.depth = depth;
    this.config = parseResNetSegConfig(config, `fcn-resnet${depth}`);
    this.numClasses = this.config.numClasses;
    this.backbone = this.registerModule(
      'backbone',
      segmentationResNet(depth, this.config, rng.derive('backbone')),
    );
    const { layer3, layer4 } = this.backbone.channels;
    this.classifier = this.registerModule(
      'classifier',
      new FCNHead(layer4, this.numClasses, rng.derive('classifier')),
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
