import {
  ConfigError,
  IMAGENET_NORMALIZATION,
  Module,
  type Normalization,
  type Rng,
  type SegmentationModel,
} from '@semseg/core';
import { Conv2d, MaxPool2d } from '@semseg/layers';
import { type PoolSwitches, VGG16, scaledChannels } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';
import {
  DECONV_BLOCKS,
  type ResolvedSegNetConfig,
  type SegNetConfig,
  parseConfig,
  segnetConfigSchema,
} from './config.js';
import type { EncoderDecoderTrace } from './deconvnet.js';
import { type ConvUnit, UnitStack, runUnit, unpool } from './units.js';

/** SegNet-Basic's depth, channels and kernel (segnet_basic_train.prototxt). */
const BASIC_LEVELS = 4;
const BASIC_CHANNELS = 64;
const BASIC_KERNEL = 7;

/**
 * Caffe's across-channel LRN (local_size 5, alpha 1e-4, beta 0.75, k 1), SegNet-Basic's first
 * layer: x / (1 + alpha / 5 * sum of x^2 over 5 neighbouring channels)^beta. Plain ops, so it runs
 * on every backend.
 */
export function caffeLrn(x: tf.Tensor4D, size = 5, alpha = 1e-4, beta = 0.75): tf.Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[3];
    const half = Math.floor(size / 2);
    const squares = tf.pad(tf.square(x), [
      [0, 0],
      [0, 0],
      [0, 0],
      [half, size - 1 - half],
    ]);
    let sum: tf.Tensor = tf.slice(squares, [0, 0, 0, 0], [-1, -1, -1, c]);
    for (let k = 1; k < size; k++) sum = tf.add(sum, tf.slice(squares, [0, 0, 0, k], [-1, -1, -1, c]));
    return tf.div(x, tf.pow(tf.add(1, tf.mul(sum, alpha / size)), beta)) as tf.Tensor4D;
  });
}

/**
 * SegNet (Badrinarayanan, Kendall & Cipolla, TPAMI 2017). 'vgg16': the 13 convs of VGG16 with
 * batch norm (`backbone.*`, no fc6/fc7), 2x2 pooling keeping its indices, and a decoder that
 * mirrors it: per block unpooling with the encoder's indices then 3x3 conv + BN + ReLU
 * (`decoder.conv5_3_D` .. `decoder.conv1_2_D`, the names of the Caffe model) and a last 3x3 conv
 * to the classes (`decoder.conv1_1_D`). 'basic': SegNet-Basic (`encoder.conv1`..`conv4`,
 * `decoder.conv_decode4`..`conv_decode1`, `classifier`).
 */
export class SegNet extends Module implements SegmentationModel {
  readonly config: ResolvedSegNetConfig;
  readonly numClasses: number;
  readonly normalization: Normalization = IMAGENET_NORMALIZATION;
  readonly backbone: VGG16 | null = null;
  readonly encoder: UnitStack | null = null;
  readonly decoder: UnitStack;
  private readonly encoderUnits: ConvUnit[] = [];
  private readonly pools: MaxPool2d[] = [];
  /** Deepest block first. */
  private readonly blocks: ConvUnit[][];
  private readonly last: Conv2d;

  constructor(config: SegNetConfig, rng: Rng) {
    super();
    const c = parseConfig(segnetConfigSchema, config, 'SegNet', (m) => new ConfigError(m));
    this.config = c;
    this.numClasses = c.numClasses;
    const width = (n: number) => scaledChannels(n, c.width);
    this.decoder = new UnitStack();
    const decoderRng = rng.derive('decoder');
    if (c.variant === 'vgg16') {
      this.backbone = this.registerModule(
        'backbone',
        new VGG16({ batchNorm: true, ceilMode: true, fc: 'none', width: c.width }, rng.derive('backbone')),
      );
      this.registerModule('decoder', this.decoder);
      let inChannels = width(512);
      // The Caffe model numbers decoder convs as the encoder convs they mirror: conv5_3_D first.
      this.blocks = DECONV_BLOCKS.map((block, k) =>
        block
          .map((channels, i) => {
            const b = 5 - k;
            if (b === 1 && i === block.length - 1) return null;
            const outChannels = width(channels);
            const name = `conv${b}_${block.length - i}_D`;
            const unit = this.decoder.add(
              { name, kind: 'conv', inChannels, outChannels, kernel: 3, padding: 1 },
              decoderRng,
            );
            inChannels = outChannels;
            return unit;
          })
          .filter((u): u is ConvUnit => u !== null),
      );
      this.last = this.decoder.addLayer(
        'conv1_1_D',
        new Conv2d({ inChannels, outChannels: c.numClasses, kernelSize: 3, padding: 1, rng: decoderRng }),
      );
    } else {
      const channels = width(BASIC_CHANNELS);
      const pad = (BASIC_KERNEL - 1) / 2;
      this.encoder = this.registerModule('encoder', new UnitStack());
      this.registerModule('decoder', this.decoder);
      const encoderRng = rng.derive('encoder');
      for (let level = 1; level <= BASIC_LEVELS; level++) {
        this.encoderUnits.push(
          this.encoder.add(
            {
              name: `conv${level}`,
              kind: 'conv',
              inChannels: level === 1 ? 3 : channels,
              outChannels: channels,
              kernel: BASIC_KERNEL,
              padding: pad,
            },
            encoderRng,
          ),
        );
        this.pools.push(new MaxPool2d({ kernelSize: 2, stride: 2, ceilMode: true }));
      }
      this.blocks = [];
      for (let level = BASIC_LEVELS; level >= 1; level--) {
        this.blocks.push([
          this.decoder.add(
            {
              name: `conv_decode${level}`,
              kind: 'conv',
              inChannels: channels,
              outChannels: channels,
              kernel: BASIC_KERNEL,
              padding: pad,
              relu: false,
            },
            decoderRng,
          ),
        ]);
      }
      this.last = this.registerModule(
        'classifier',
        new Conv2d({
          inChannels: channels,
          outChannels: c.numClasses,
          kernelSize: 1,
          rng: rng.derive('classifier'),
        }),
      );
    }
  }

  forward(images: tf.Tensor4D): tf.Tensor4D {
    return this.run(images).logits;
  }

  trace(images: tf.Tensor4D): EncoderDecoderTrace {
    const { logits, trace } = this.run(images);
    logits.dispose();
    return trace;
  }

  private run(images: tf.Tensor4D): { logits: tf.Tensor4D; trace: EncoderDecoderTrace } {
    const trace: EncoderDecoderTrace = { prePool: [], unpooled: [] };
    const logits = tf.tidy(() => {
      let x: tf.Tensor4D;
      let switches: PoolSwitches[];
      if (this.backbone) {
        const features = this.backbone.forward(images, { switches: true });
        switches = features.switches!;
        x = features.pool5;
      } else {
        switches = [];
        x = caffeLrn(images);
        this.encoderUnits.forEach((unit, level) => {
          x = runUnit(unit, x);
          const inputSize: [number, number] = [x.shape[1], x.shape[2]];
          const pooled = this.pools[level]!.forwardWithSwitches(x);
          switches.push({ switches: pooled.switches, inputSize });
          x = pooled.output;
        });
      }
      for (const s of switches) trace.prePool.push([s.inputSize[0], s.inputSize[1], s.switches.shape[3]]);
      this.blocks.forEach((units, k) => {
        x = unpool(x, switches[switches.length - 1 - k]!);
        trace.unpooled.push([x.shape[1], x.shape[2], x.shape[3]]);
        for (const unit of units) x = runUnit(unit, x);
      });
      return this.last.forward(x);
    });
    return { logits, trace };
  }
}
