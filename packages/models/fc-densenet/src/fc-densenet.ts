import { ConfigError, InputError, Module, type Rng, type SegmentationModel } from '@semseg/core';
import { Conv2d, heUniform, zeros } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import { DenseBlock, TransitionDown, TransitionUp } from './blocks.js';
import {
  type FcDenseNetConfig,
  type FcDenseNetVariant,
  type ResolvedFcDenseNetConfig,
  fcDenseNetConfigSchema,
} from './config.js';

/**
 * FC-DenseNet, "The One Hundred Layers Tiramisu" (Jégou et al. 2017), as the authors' Lasagne
 * code builds it: a 3x3 convolution (48 channels), dense blocks each followed by a transition
 * down (their whole stack kept as the skip), a bottleneck block, then transitions up on the
 * previous block's new features only, concatenated with the skip, each followed by a dense block;
 * the last block's whole stack goes to a 1x1 convolution to the classes. Every convolution is He
 * uniform initialised with zero bias. Any input of at least 2^pools pixels a side works: odd maps
 * pool down by flooring and the transposed convolution's 2n + 1 outputs are cropped to the skip.
 *
 * Parameter names: `conv0`, `down{i}.layer{j}.{bn,conv}`, `td{i}.layer.{bn,conv}`,
 * `bottleneck.layer{j}`, `tu{i}.deconv`, `up{i}.layer{j}`, `classifier`.
 */
export class FcDenseNet extends Module implements SegmentationModel {
  readonly variant: FcDenseNetVariant;
  readonly config: ResolvedFcDenseNetConfig;
  readonly numClasses: number;
  readonly pools: number;
  readonly conv0: Conv2d;
  readonly down: DenseBlock[] = [];
  readonly td: TransitionDown[] = [];
  readonly bottleneck: DenseBlock;
  readonly tu: TransitionUp[] = [];
  readonly up: DenseBlock[] = [];
  readonly classifier: Conv2d;

  constructor(variant: FcDenseNetVariant, config: FcDenseNetConfig, rng: Rng) {
    super();
    const parsed = fcDenseNetConfigSchema(variant).safeParse(config);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new ConfigError(`invalid FC-DenseNet${variant} config: ${issues.join('; ')}`);
    }
    const c = parsed.data;
    this.variant = variant;
    this.config = c;
    this.numClasses = c.numClasses;
    const k = c.growthRate;
    const layers = c.layersPerBlock;
    const pools = (layers.length - 1) / 2;
    this.pools = pools;
    this.conv0 = this.registerModule(
      'conv0',
      new Conv2d({
        inChannels: c.inChannels,
        outChannels: c.firstConvChannels,
        kernelSize: 3,
        padding: 1,
        rng: rng.derive('conv0'),
        weightInit: heUniform(),
        biasInit: zeros(),
      }),
    );
    let channels = c.firstConvChannels;
    const skipChannels: number[] = [];
    for (let i = 0; i < pools; i++) {
      const block = this.registerModule(
        `down${i + 1}`,
        new DenseBlock(channels, layers[i]!, k, c.dropout, rng.derive(`down${i + 1}`)),
      );
      this.down.push(block);
      channels = block.outChannels;
      skipChannels.push(channels);
      this.td.push(
        this.registerModule(`td${i + 1}`, new TransitionDown(channels, c.dropout, rng.derive(`td${i + 1}`))),
      );
    }
    this.bottleneck = this.registerModule(
      'bottleneck',
      new DenseBlock(channels, layers[pools]!, k, c.dropout, rng.derive('bottleneck')),
    );
    let upsampled = layers[pools]! * k;
    for (let i = 0; i < pools; i++) {
      this.tu.push(
        this.registerModule(`tu${i + 1}`, new TransitionUp(upsampled, upsampled, rng.derive(`tu${i + 1}`))),
      );
      const inChannels = upsampled + skipChannels[pools - 1 - i]!;
      const block = this.registerModule(
        `up${i + 1}`,
        new DenseBlock(inChannels, layers[pools + 1 + i]!, k, c.dropout, rng.derive(`up${i + 1}`)),
      );
      this.up.push(block);
      upsampled = layers[pools + 1 + i]! * k;
      channels = block.outChannels;
    }
    this.classifier = this.registerModule(
      'classifier',
      new Conv2d({
        inChannels: channels,
        outChannels: c.numClasses,
        kernelSize: 1,
        rng: rng.derive('classifier'),
        weightInit: heUniform(),
        biasInit: zeros(),
      }),
    );
  }

  /** Logits N x H x W x numClasses at the input's size. */
  forward(images: tf.Tensor4D): tf.Tensor4D {
    const [, height, width, channels] = images.shape;
    const smallest = 2 ** this.pools;
    if (height < smallest || width < smallest) {
      throw new InputError(
        `FC-DenseNet${this.variant} pools ${this.pools} times: inputs need at least ${smallest}x${smallest} pixels, got ${height}x${width}`,
      );
    }
    if (channels !== this.config.inChannels) {
      throw new InputError(`FC-DenseNet takes ${this.config.inChannels}-channel images, got ${channels}`);
    }
    return tf.tidy(() => {
      let x = this.conv0.forward(images);
      const skips: tf.Tensor4D[] = [];
      for (let i = 0; i < this.pools; i++) {
        const { stack } = this.down[i]!.forward(x);
        skips.push(stack);
        x = this.td[i]!.forward(stack);
      }
      let { stack, added } = this.bottleneck.forward(x);
      for (let i = 0; i < this.pools; i++) {
        const merged = this.tu[i]!.forward(added, skips[this.pools - 1 - i]!);
        ({ stack, added } = this.up[i]!.forward(merged));
      }
      return this.classifier.forward(stack);
    });
  }
}
