import {
  ConfigError,
  Module,
  type Normalization,
  type Rng,
  type SegmentationModel,
  type TrainingOutput,
} from '@semseg/core';
import { type Sequential, resize } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import { convHead } from './head.js';
import { PyramidPooling } from './pyramid-pooling.js';

/** The two feature maps PSPNet reads from its dilated backbone, both at the output stride. */
export interface PspFeatures {
  /** Input of the auxiliary head (ResNet's layer3, 1024 channels at width 1). */
  layer3: tf.Tensor4D;
  /** Input of the pyramid pooling module (ResNet's layer4, 2048 channels at width 1). */
  layer4: tf.Tensor4D;
}

/**
 * What PSPNet needs from a backbone (a dilated @semseg/resnet ResNet is one): layer3 and layer4
 * features, their channels and how it takes images.
 */
export interface PspBackbone extends Module {
  readonly channels: { layer3: number; layer4: number };
  readonly normalization?: Normalization;
  features(images: tf.Tensor4D): Partial<PspFeatures>;
}

function stage(features: Partial<PspFeatures>, name: keyof PspFeatures): tf.Tensor4D {
  const x = features[name];
  if (!x) throw new ConfigError(`PSPNet: the backbone returned no ${name} features`);
  return x;
}

export interface PspHeadConfig {
  numClasses: number;
  /** Pyramid bin sizes (the paper: 1, 2, 3, 6). */
  bins: readonly number[];
  /** Dropout2d before both classifiers (the reference: 0.1). */
  dropout: number;
  /** Weight of the auxiliary loss on layer3 (the paper: 0.4); 0 builds no auxiliary head. */
  auxWeight: number;
  /** Bilinear upsampling with aligned corners, as the reference's (PyTorch and Caffe `Interp`). */
  alignCorners: boolean;
  /** Channel multiplier of the head's 3x3 convs (512 and 256 at 1). */
  width: number;
}

/** The head's 3x3 conv widths: 512 after the pyramid, 256 in the auxiliary head (hszhao/semseg). */
const CLS_CHANNELS = 512;
const AUX_CHANNELS = 256;

/**
 * PSPNet (Zhao, Shi, Qi, Wang & Jia, CVPR 2017): a dilated backbone, the pyramid pooling module on
 * its last features, a 3x3 conv + BN + ReLU + dropout + 1x1 classifier, and bilinear upsampling
 * to the input; in training, an auxiliary classifier on layer3 adds its loss with weight 0.4.
 * Children: `backbone`, `ppm`, `cls`, `aux` (the reference's names).
 */
export class PSPNet extends Module implements SegmentationModel {
  readonly numClasses: number;
  readonly backbone: PspBackbone;
  readonly ppm: PyramidPooling;
  readonly cls: Sequential;
  /** The auxiliary head on layer3, used by `trainingOutputs` only; null when `auxWeight` is 0. */
  readonly aux: Sequential | null;
  readonly head: PspHeadConfig;
  /** The registry's config (set by the factory that built this model). */
  config?: Record<string, unknown>;

  constructor(backbone: PspBackbone, head: PspHeadConfig, rng: Rng) {
    super();
    if (!(Number.isInteger(head.numClasses) && head.numClasses >= 2)) {
      throw new ConfigError(`PSPNet needs at least 2 classes, got ${head.numClasses}`);
    }
    this.numClasses = head.numClasses;
    this.head = head;
    this.backbone = this.registerModule('backbone', backbone);
    const { layer3, layer4 } = backbone.channels;
    // The reference reduces each level to 1/(number of levels) of the features (2048 / 4 = 512).
    const reduction = Math.floor(layer4 / head.bins.length);
    if (reduction < 1) {
      throw new ConfigError(
        `PSPNet: ${layer4} feature channels cannot be split over ${head.bins.length} levels`,
      );
    }
    this.ppm = this.registerModule(
      'ppm',
      new PyramidPooling({
        inChannels: layer4,
        bins: head.bins,
        reductionChannels: reduction,
        alignCorners: head.alignCorners,
        rng: rng.derive('ppm'),
      }),
    );
    const channels = (c: number) => Math.max(1, Math.round(c * head.width));
    this.cls = this.registerModule(
      'cls',
      convHead({
        inChannels: this.ppm.outChannels,
        midChannels: channels(CLS_CHANNELS),
        numClasses: head.numClasses,
        dropout: head.dropout,
        rng: rng.derive('cls'),
      }),
    );
    this.aux =
      head.auxWeight > 0
        ? this.registerModule(
            'aux',
            convHead({
              inChannels: layer3,
              midChannels: channels(AUX_CHANNELS),
              numClasses: head.numClasses,
              dropout: head.dropout,
              rng: rng.derive('aux'),
            }),
          )
        : null;
  }

  get normalization(): Normalization | undefined {
    return this.backbone.normalization;
  }

  private toInputSize(logits: tf.Tensor4D, images: tf.Tensor4D): tf.Tensor4D {
    return resize(logits, [images.shape[1], images.shape[2]], {
      mode: 'bilinear',
      alignCorners: this.head.alignCorners,
    });
  }

  private mainLogits(features: Partial<PspFeatures>, images: tf.Tensor4D): tf.Tensor4D {
    return this.toInputSize(this.cls.forward(this.ppm.forward(stage(features, 'layer4'))), images);
  }

  /** Logits N x H x W x numClasses at the input's size (the auxiliary head does not run). */
  forward(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.mainLogits(this.backbone.features(images), images));
  }

  /**
   * The main loss and, with weight `auxWeight`, the auxiliary head's (both upsampled to the input,
   * as the reference's `zoom_factor` 8), from one pass through the backbone.
   */
  trainingOutputs(images: tf.Tensor4D, labels: tf.Tensor3D): TrainingOutput[] {
    const [main, aux] = tf.tidy(() => {
      const features = this.backbone.features(images);
      const logits = [this.mainLogits(features, images)];
      if (this.aux) logits.push(this.toInputSize(this.aux.forward(stage(features, 'layer3')), images));
      return logits;
    });
    const outputs: TrainingOutput[] = [{ logits: main!, labels, weight: 1 }];
    if (aux) outputs.push({ logits: aux, labels, weight: this.head.auxWeight });
    return outputs;
  }
}
