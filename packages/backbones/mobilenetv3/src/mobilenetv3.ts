import { ConfigError, IMAGENET_NORMALIZATION, Module, type Normalization, type Rng } from '@semseg/core';
import { Conv2d, Dropout, Hardswish, type Layer, Sequential, normal, zeros } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import { InvertedResidual, convNormActivation, scaledSetting } from './blocks.js';
import {
  LARGE_LAST_CHANNEL,
  type MobileNetV3Config,
  type ResolvedMobileNetV3Config,
  largeSettings,
  makeDivisible,
  mobilenetV3ConfigSchema,
} from './config.js';

function parse(config: MobileNetV3Config): ResolvedMobileNetV3Config {
  const parsed = mobilenetV3ConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid MobileNetV3 config: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/**
 * torchvision's `mobilenet_v3_large().features`: children `0` (3x3/2 conv, hardswish), `1`..`15`
 * (inverted residuals), `16` (1x1 to 6 x 160, hardswish). The segmentation models hold this
 * Sequential as their `backbone`, so its names are theirs (`backbone.4.block.2.fc1.weight`).
 */
export class MobileNetV3Features extends Sequential {
  readonly config: ResolvedMobileNetV3Config;
  /** Output channels of each child. */
  readonly outChannels: number[];
  /**
   * torchvision's stage indices: [0, the blocks whose setting has stride 2 (`_is_cn`), last]:
   * [0, 2, 4, 7, 13, 16]. The segmentation models tap [-4] (C2, stride 8) and [-1] (stride 16 when dilated).
   */
  readonly stageIndices: number[];

  constructor(config: MobileNetV3Config, rng: Rng) {
    const c = parse(config);
    const settings = largeSettings(c.dilated, c.reducedTail).map((s) => scaledSetting(s, c.width));
    const first = settings[0]!.input;
    const last = settings.at(-1)!.output;
    const layers: Layer[] = [
      convNormActivation(
        { inChannels: 3, outChannels: first, kernelSize: 3, stride: 2, activation: 'hardswish' },
        rng,
      ),
      ...settings.map((s) => new InvertedResidual(s, rng)),
      convNormActivation(
        { inChannels: last, outChannels: 6 * last, kernelSize: 1, activation: 'hardswish' },
        rng,
      ),
    ];
    super(layers);
    this.config = c;
    this.outChannels = [first, ...settings.map((s) => s.output), 6 * last];
    const starts = this.layers.flatMap((layer, i) =>
      layer instanceof InvertedResidual && layer.isStageStart ? [i] : [],
    );
    this.stageIndices = [0, ...starts, this.layers.length - 1];
  }

  /** torchvision's ImageNet preprocessing: RGB in [0, 1], ImageNet mean and std. */
  get normalization(): Normalization {
    return IMAGENET_NORMALIZATION;
  }

  /** The outputs of the children at `indices` (IntermediateLayerGetter), running no further than the last. */
  taps(images: tf.Tensor4D, indices: readonly number[]): tf.Tensor4D[] {
    const lastIndex = Math.max(...indices);
    return tf.tidy(() => {
      const out = new Map<number, tf.Tensor4D>();
      let x = images;
      for (let i = 0; i <= lastIndex; i++) {
        x = this.layers[i]!.forward(x);
        if (indices.includes(i)) out.set(i, x);
      }
      return indices.map((i) => out.get(i)!);
    });
  }
}

/**
 * MobileNetV3-Large as torchvision's `mobilenet_v3_large`: `features`, then global average pooling
 * and `classifier` (`classifier.0` Linear 960 -> 1280, hardswish, dropout, `classifier.3` Linear),
 * both Linear layers held as 1x1 convs (`linear-as-conv` from PyTorch files).
 */
export class MobileNetV3 extends Module {
  readonly config: ResolvedMobileNetV3Config;
  readonly features: MobileNetV3Features;
  readonly classifier: Sequential | null;

  constructor(config: MobileNetV3Config, rng: Rng) {
    super();
    this.config = parse(config);
    this.features = this.registerModule('features', new MobileNetV3Features(this.config, rng));
    const numClasses = this.config.numClasses;
    if (numClasses === null) {
      this.classifier = null;
      return;
    }
    const channels = this.features.outChannels.at(-1)!;
    const hidden = makeDivisible(LARGE_LAST_CHANNEL * this.config.width);
    const linear = (inChannels: number, outChannels: number) =>
      new Conv2d({
        inChannels,
        outChannels,
        kernelSize: 1,
        rng,
        weightInit: normal(0.01),
        biasInit: zeros(),
      });
    this.classifier = this.registerModule(
      'classifier',
      new Sequential([
        ['0', linear(channels, hidden)],
        ['1', new Hardswish()],
        ['2', new Dropout(this.config.dropout, rng.derive('dropout'))],
        ['3', linear(hidden, numClasses)],
      ]),
    );
  }

  get normalization(): Normalization {
    return IMAGENET_NORMALIZATION;
  }

  /** ImageNet logits N x 1 x 1 x numClasses; needs `numClasses`. */
  forward(images: tf.Tensor4D): tf.Tensor4D {
    const classifier = this.classifier;
    if (!classifier)
      throw new ConfigError('MobileNetV3.forward needs a classifier: set numClasses, or use features');
    return tf.tidy(() =>
      classifier.forward(tf.mean(this.features.forward(images), [1, 2], true) as tf.Tensor4D),
    );
  }
}
