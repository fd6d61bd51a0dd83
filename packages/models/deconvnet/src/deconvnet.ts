import {
  ConfigError,
  IMAGENET_NORMALIZATION,
  InputError,
  Module,
  type Normalization,
  type Rng,
  type SegmentationModel,
} from '@semseg/core';
import { Conv2d } from '@semseg/layers';
import { VGG16, scaledChannels } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';
import {
  DECONV_BLOCKS,
  type DeconvNetConfig,
  type ResolvedDeconvNetConfig,
  deconvnetConfigSchema,
  parseConfig,
} from './config.js';
import { type ConvUnit, UnitStack, pooledLength, runUnit, unpool } from './units.js';

/** Shapes along the way (tests: the decoder mirrors the encoder). */
export interface EncoderDecoderTrace {
  /** [H, W, C] of each pooling layer's input, block 1 first. */
  prePool: Array<[number, number, number]>;
  /** [H, W, C] of each unpooling layer's output, block 5 (the deepest) first. */
  unpooled: Array<[number, number, number]>;
}

/**
 * DeconvNet (Noh, Hong & Han, ICCV 2015), as the seed's PyTorch code: VGG16 conv blocks of
 * Conv-BN-ReLU with 2x2 ceil-mode pooling that keeps its switches; fc6 (7x7, 4096) and fc7 (1x1,
 * 4096) with BN, ReLU and dropout; then a mirrored deconvolution network: a 7x7 transposed conv
 * back to 512 channels, and for blocks 5..1 unpooling with that block's switches followed by 3x3
 * transposed convs + BN + ReLU; a 1x1 `score`. Parameters: `backbone.*` (VGG16: `conv1_1`,
 * `conv1_1_bn`, ..., `fc6`, `fc6_bn`, `fc7`, `fc7_bn`), `decoder.fc6_deconv`(`_bn`),
 * `decoder.deconv5_1`(`_bn`) .. `decoder.deconv1_2`(`_bn`), `score`.
 */
export class DeconvNet extends Module implements SegmentationModel {
  readonly config: ResolvedDeconvNetConfig;
  readonly numClasses: number;
  readonly normalization: Normalization = IMAGENET_NORMALIZATION;
  readonly backbone: VGG16;
  readonly decoder: UnitStack;
  readonly fc6Deconv: ConvUnit;
  /** Block 5 first, as the decoder runs. */
  readonly blocks: ConvUnit[][];
  readonly score: Conv2d;

  constructor(config: DeconvNetConfig, rng: Rng) {
    super();
    const c = parseConfig(deconvnetConfigSchema, config, 'DeconvNet', (m) => new ConfigError(m));
    this.config = c;
    this.numClasses = c.numClasses;
    const width = (n: number) => scaledChannels(n, c.width);
    this.backbone = this.registerModule(
      'backbone',
      new VGG16(
        {
          batchNorm: true,
          ceilMode: true,
          fc: '7x7',
          fc6Padding: c.fc6Padding,
          dropout: c.dropout,
          width: c.width,
        },
        rng.derive('backbone'),
      ),
    );
    this.decoder = this.registerModule('decoder', new UnitStack());
    const decoderRng = rng.derive('decoder');
    this.fc6Deconv = this.decoder.add(
      {
        name: 'fc6_deconv',
        kind: 'deconv',
        inChannels: this.backbone.channels.fc7,
        outChannels: width(512),
        kernel: 7,
        padding: c.fc6Padding === 'same' ? 3 : 0,
      },
      decoderRng,
    );
    let inChannels = width(512);
    this.blocks = DECONV_BLOCKS.map((block, k) =>
      block.map((channels, i) => {
        const outChannels = width(channels);
        const name = `deconv${5 - k}_${i + 1}`;
        const unit = this.decoder.add(
          { name, kind: 'deconv', inChannels, outChannels, kernel: 3, padding: 1 },
          decoderRng,
        );
        inChannels = outChannels;
        return unit;
      }),
    );
    this.score = this.registerModule(
      'score',
      new Conv2d({ inChannels, outChannels: c.numClasses, kernelSize: 1, rng: rng.derive('score') }),
    );
  }

  forward(images: tf.Tensor4D): tf.Tensor4D {
    return this.run(images).logits;
  }

  /** Runs the network and reports the shape of every pooling input and unpooling output. */
  trace(images: tf.Tensor4D): EncoderDecoderTrace {
    const { logits, trace } = this.run(images);
    logits.dispose();
    return trace;
  }

  private run(images: tf.Tensor4D): { logits: tf.Tensor4D; trace: EncoderDecoderTrace } {
    const [, h, w] = images.shape;
    if (this.config.fc6Padding === 'valid' && Math.min(pooledLength(h, 5), pooledLength(w, 5)) < 7) {
      throw new InputError(
        `DeconvNet with fc6Padding 'valid' needs inputs of at least 193x193 (pool5 >= 7x7), got ${h}x${w}; use fc6Padding 'same' for smaller crops`,
      );
    }
    const trace: EncoderDecoderTrace = { prePool: [], unpooled: [] };
    const logits = tf.tidy(() => {
      const features = this.backbone.forward(images, { switches: true });
      const switches = features.switches!;
      for (const s of switches) trace.prePool.push([s.inputSize[0], s.inputSize[1], s.switches.shape[3]]);
      let x = runUnit(this.fc6Deconv, features.fc7!);
      this.blocks.forEach((units, k) => {
        x = unpool(x, switches[4 - k]!);
        trace.unpooled.push([x.shape[1], x.shape[2], x.shape[3]]);
        for (const unit of units) x = runUnit(unit, x);
      });
      return this.score.forward(x);
    });
    return { logits, trace };
  }
}
