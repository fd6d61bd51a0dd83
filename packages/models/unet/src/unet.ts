import { ConfigError, InputError, Module, type Rng, type SegmentationModel } from '@semseg/core';
import type { TrainingOutput } from '@semseg/core';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  type Initializer,
  type Layer,
  MaxPool2d,
  heNormal,
  zeros,
} from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import { type ResolvedUNetConfig, type UNetConfig, unetConfigSchema } from './config.js';
import { type UNetGeometry, outputLength, runLength, unetGeometry } from './geometry.js';
import { mirrorExtend } from './mirror.js';

/**
 * The paper's initialisation: N(0, 2 / N) with N the incoming nodes of one neuron. For the 2x2
 * stride-2 up-convolution each output pixel receives one tap per input channel, so N = inChannels.
 */
function heNormalFanIn(fanIn: number): Initializer {
  return (shape, fans, rng) => heNormal()(shape, { ...fans, fanIn }, rng);
}

/** Two 3x3 convolutions, each followed by (batch norm and) ReLU: one step of either path. */
class DoubleConv extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly bn1: BatchNorm2d | null;
  readonly bn2: BatchNorm2d | null;

  constructor(inChannels: number, outChannels: number, config: ResolvedUNetConfig, rng: Rng) {
    super();
    const conv = (name: string, cin: number) =>
      this.registerModule(
        name,
        new Conv2d({
          inChannels: cin,
          outChannels,
          kernelSize: 3,
          padding: config.padding === 'same' ? 1 : 0,
          bias: !config.batchNorm,
          rng: rng.derive(name),
          weightInit: heNormal(),
          biasInit: zeros(),
        }),
      );
    this.conv1 = conv('conv1', inChannels);
    this.bn1 = config.batchNorm ? this.registerModule('bn1', new BatchNorm2d(outChannels)) : null;
    this.conv2 = conv('conv2', outChannels);
    this.bn2 = config.batchNorm ? this.registerModule('bn2', new BatchNorm2d(outChannels)) : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      // Without batch norm, each conv's ReLU runs inside its kernel at inference.
      const y = this.bn1
        ? tf.relu(this.bn1.forward(this.conv1.forward(x)))
        : this.conv1.forward(x, { activation: 'relu' });
      if (!this.bn2) return this.conv2.forward(y, { activation: 'relu' });
      return tf.relu(this.bn2.forward(this.conv2.forward(y)));
    });
  }
}

/** One step of the expanding path: 2x2 up-convolution, concatenation with the skip, DoubleConv. */
class UpStep extends Module {
  readonly up: ConvTranspose2d;
  readonly block: DoubleConv;

  constructor(inChannels: number, outChannels: number, config: ResolvedUNetConfig, rng: Rng) {
    super();
    this.up = this.registerModule(
      'up',
      new ConvTranspose2d({
        inChannels,
        outChannels,
        kernelSize: 2,
        stride: 2,
        rng: rng.derive('up'),
        weightInit: heNormalFanIn(inChannels),
        biasInit: zeros(),
      }),
    );
    // The skip brings outChannels, the up-convolution outChannels: 2 * outChannels in.
    this.block = this.registerModule(
      'block',
      new DoubleConv(2 * outChannels, outChannels, config, rng.derive('block')),
    );
  }

  forward(x: tf.Tensor4D, skip: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const up = this.up.forward(x);
      const [, uh, uw] = up.shape;
      const [, sh, sw] = skip.shape;
      // Centre crop of the contracting features (valid); same mode runs on multiples of 2^depth,
      // where both have the same size.
      const top = (sh - uh) / 2;
      const left = (sw - uw) / 2;
      const cropped = top === 0 && left === 0 ? skip : tf.slice(skip, [0, top, left, 0], [-1, uh, uw, -1]);
      return this.block.forward(tf.concat([cropped, up], 3) as tf.Tensor4D);
    });
  }
}

/**
 * U-Net (Ronneberger, Fischer & Brox 2015): a contracting path of `depth` steps (two 3x3 convs +
 * ReLU, 2x2 max pooling; 64, 128, 256, 512 channels), a bottom step (1024), an expanding path
 * (2x2 up-convolution halving the channels, concatenation with the centre-cropped contracting
 * features, two 3x3 convs + ReLU) and a 1x1 convolution to the classes.
 *
 * `padding: 'valid'` is the paper's network: its output is `margin` pixels smaller than its input
 * (572 -> 388), centred; `outputSize` says by how much, and the engine's overlap-tile inference
 * feeds it mirrored context to give full-size maps. Inputs of the paper's tile sizes
 * (188 + 16k at depth 4) run as they are; other sizes are mirror-extended at the bottom/right
 * to the next such size and the output cut back to `input - margin`, so the last few output rows
 * and columns see mirrored rather than real pixels there. `padding: 'same'` runs on the input
 * mirror-extended to a multiple of 2^depth and crops back: output = input, never an odd pooled map.
 *
 * Parameter names: `down{1..depth}.conv{1,2}` (`.bn{1,2}`), `bottom.conv{1,2}`,
 * `up{depth..1}.up` (the up-convolution), `up{i}.block.conv{1,2}`, `head`.
 */
export class UNet extends Module implements SegmentationModel {
  readonly config: ResolvedUNetConfig;
  readonly numClasses: number;
  readonly geometry: UNetGeometry;
  readonly down: DoubleConv[];
  readonly bottom: DoubleConv;
  readonly dropout: Layer;
  /** From the deepest step up. */
  readonly up: UpStep[];
  readonly head: Conv2d;
  private readonly pool = new MaxPool2d({ kernelSize: 2 });

  constructor(config: UNetConfig, rng: Rng) {
    super();
    const parsed = unetConfigSchema.safeParse(config);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new ConfigError(`invalid U-Net config: ${issues.join('; ')}`);
    }
    const c = parsed.data;
    this.config = c;
    this.numClasses = c.numClasses;
    this.geometry = unetGeometry(c.padding, c.depth);
    const channels = Array.from({ length: c.depth + 1 }, (_, level) =>
      Math.max(1, Math.round(c.baseChannels * c.width * 2 ** level)),
    );
    this.down = [];
    let cin = c.inChannels;
    for (let level = 0; level < c.depth; level++) {
      const name = `down${level + 1}`;
      this.down.push(this.registerModule(name, new DoubleConv(cin, channels[level]!, c, rng.derive(name))));
      cin = channels[level]!;
    }
    this.bottom = this.registerModule(
      'bottom',
      new DoubleConv(cin, channels[c.depth]!, c, rng.derive('bottom')),
    );
    this.dropout = this.registerModule('dropout', new Dropout(c.dropout, rng.derive('dropout')));
    this.up = [];
    for (let level = c.depth - 1; level >= 0; level--) {
      const name = `up${level + 1}`;
      this.up.push(
        this.registerModule(name, new UpStep(channels[level + 1]!, channels[level]!, c, rng.derive(name))),
      );
    }
    this.head = this.registerModule(
      'head',
      new Conv2d({
        inChannels: channels[0]!,
        outChannels: c.numClasses,
        kernelSize: 1,
        rng: rng.derive('head'),
        weightInit: heNormal(),
        biasInit: zeros(),
      }),
    );
  }

  /** Output height and width for an input's (valid: input minus the margin, 572 -> 388; same: equal). */
  outputSize(inputSize: [number, number]): [number, number] {
    return [outputLength(this.geometry, inputSize[0]), outputLength(this.geometry, inputSize[1])];
  }

  /** Logits N x h x w x numClasses, h x w = `outputSize` of the input's, centred in the input. */
  forward(images: tf.Tensor4D): tf.Tensor4D {
    const [, height, width, channels] = images.shape;
    if (channels !== this.config.inChannels) {
      throw new InputError(`U-Net takes ${this.config.inChannels}-channel images, got ${channels} channels`);
    }
    const [oh, ow] = this.outputSize([height, width]);
    return tf.tidy(() => {
      const rh = runLength(this.geometry, height);
      const rw = runLength(this.geometry, width);
      const x = mirrorExtend(images, rh, rw);
      const logits = this.network(x);
      const [, lh, lw] = logits.shape;
      return lh === oh && lw === ow ? logits : tf.slice(logits, [0, 0, 0, 0], [-1, oh, ow, -1]);
    });
  }

  /**
   * Valid mode: the labels (and per-pixel loss weights, e.g. `unetWeightMap`'s, when given) are
   * cropped to the output's centred window; same mode: as they are.
   */
  trainingOutputs(
    images: tf.Tensor4D,
    labels: tf.Tensor3D,
    pixelWeights?: tf.Tensor3D,
  ): Array<TrainingOutput & { pixelWeights?: tf.Tensor3D }> {
    const logits = this.forward(images);
    const [, oh, ow] = logits.shape;
    const offset = this.geometry.margin / 2;
    const crop = (t: tf.Tensor3D): tf.Tensor3D =>
      offset === 0 ? tf.clone(t) : (tf.slice(t, [0, offset, offset], [-1, oh, ow]) as tf.Tensor3D);
    return [
      {
        logits,
        labels: crop(labels),
        weight: 1,
        ...(pixelWeights ? { pixelWeights: crop(pixelWeights) } : {}),
      },
    ];
  }

  private network(x: tf.Tensor4D): tf.Tensor4D {
    const skips: tf.Tensor4D[] = [];
    let y = x;
    for (const step of this.down) {
      const features = step.forward(y);
      skips.push(features);
      y = this.pool.forward(features);
    }
    y = this.dropout.forward(this.bottom.forward(y));
    this.up.forEach((step, i) => {
      y = step.forward(y, skips[skips.length - 1 - i]!);
    });
    return this.head.forward(y);
  }
}
