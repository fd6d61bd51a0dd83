import { CAFFE_VGG_NORMALIZATION, ConfigError, Module, type Normalization, type Rng } from '@semseg/core';
import { BatchNorm2d, Conv2d, Dropout, Dropout2d, MaxPool2d, heNormal, normal, zeros } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import {
  type ResolvedVGG16Config,
  type VGG16Config,
  VGG16_BLOCKS,
  scaledChannels,
  vgg16ConfigSchema,
} from './config.js';
import { type ImportReport, importWeights } from './weights/import.js';
import type { WeightsSource } from './weights/source.js';

/** A pooling layer's switches and the size of its input, what a decoder needs to unpool. */
export interface PoolSwitches {
  /** int32 [N, OH, OW, C]: argmax positions h * W + w in the input plane (PyTorch's indices). */
  switches: tf.Tensor4D;
  /** The pooled layer's input height and width (pass as MaxUnpool2d's outputSize). */
  inputSize: [number, number];
}

export interface VGG16Features {
  /** Stride-8 features (block 3 pooled): FCN-8s' skip. */
  pool3: tf.Tensor4D;
  /** Stride-16 features (stride 8 at output stride 8): FCN-16s' skip. */
  pool4: tf.Tensor4D;
  /** Block 5 pooled. */
  pool5: tf.Tensor4D;
  /** fc7 after ReLU and dropout; absent when `fc: 'none'`. */
  fc7?: tf.Tensor4D;
  /** With `{ switches: true }`: the switches of every pooling layer there is (pool1..pool5), in order. */
  switches?: PoolSwitches[];
}

interface ConvUnit {
  conv: Conv2d;
  bn: BatchNorm2d | null;
}

/** Our names of the 13 convs: conv1_1 .. conv5_3. */
export const VGG16_CONV_NAMES: readonly string[] = VGG16_BLOCKS.flatMap((block, b) =>
  block.map((_, i) => `conv${b + 1}_${i + 1}`),
);

/**
 * VGG16 (Simonyan & Zisserman) as the seed papers use it: 13 conv3x3 + ReLU in five blocks with
 * max pooling, fc6/fc7 as convolutions, optional batch norm, output stride 32/16/8 by removing
 * pool strides and dilating what follows (DeepLab). Parameters: `conv1_1.weight` .. `conv5_3.bias`,
 * `conv1_1_bn.*` with batch norm, `fc6.*`, `fc7.*` (and `fc6_bn.*`, `fc7_bn.*`).
 */
export class VGG16 extends Module {
  readonly config: ResolvedVGG16Config;
  /** How inputs must be normalised; set to the weights' own by `loadWeights`. */
  normalization: Normalization = CAFFE_VGG_NORMALIZATION;
  /** Channels of pool3, pool4, pool5 and fc7 (fc7 is 0 without fc layers). */
  readonly channels: { pool3: number; pool4: number; pool5: number; fc7: number };
  private readonly blocks: ConvUnit[][] = [];
  /** null where `unstridedPool: 'none'` removes a pooling layer. */
  private readonly pools: Array<MaxPool2d | null> = [];
  private readonly fc6: ConvUnit | null = null;
  private readonly fc7: ConvUnit | null = null;
  private readonly dropouts: Array<Dropout | Dropout2d> = [];

  constructor(config: VGG16Config, rng: Rng) {
    super();
    const parsed = vgg16ConfigSchema.safeParse(config);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new ConfigError(`invalid VGG16 config: ${issues.join('; ')}`);
    }
    const c = parsed.data;
    this.config = c;
    const width = (n: number) => scaledChannels(n, c.width);
    // Which strides survive, and the dilation that keeps the receptive field after a removed one.
    const keepPool4Stride = c.outputStride !== 8;
    const keepPool5Stride = c.outputStride === 32;
    const conv5Dilation = keepPool4Stride ? 1 : 2;
    const fcFactor = 32 / c.outputStride;

    let inChannels = c.inChannels;
    VGG16_BLOCKS.forEach((block, b) => {
      const units: ConvUnit[] = [];
      block.forEach((channels, i) => {
        const name = `conv${b + 1}_${i + 1}`;
        const out = width(channels);
        const dilation = b === 4 ? conv5Dilation : 1;
        const padding = c.convPadding === 'valid' ? 0 : b === 0 && i === 0 ? c.conv1Padding : dilation;
        units.push(this.convUnit(name, inChannels, out, 3, dilation, padding, c.batchNorm, rng));
        inChannels = out;
      });
      this.blocks.push(units);
      const strided = b < 3 || (b === 3 && keepPool4Stride) || (b === 4 && keepPool5Stride);
      if (!strided && c.unstridedPool === 'none') {
        this.pools.push(null);
        return;
      }
      const pool = strided
        ? c.pool === '2x2'
          ? new MaxPool2d({ kernelSize: 2, stride: 2, ceilMode: c.ceilMode })
          : new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1, ceilMode: c.ceilMode })
        : new MaxPool2d({ kernelSize: 3, stride: 1, padding: 1 });
      this.pools.push(this.registerModule(`pool${b + 1}`, pool));
    });
    const pool5Channels = inChannels;
    let fc7Channels = 0;
    if (c.fc !== 'none') {
      const large = c.fc === 'largefov';
      const fcChannels = width(large ? 1024 : 4096);
      const kernel = large ? 3 : 7;
      const dilation = c.fc6Dilation ?? (large ? 12 : fcFactor);
      const samePadding = (c.fc6Padding ?? (large ? 'same' : 'valid')) === 'same';
      const padding = samePadding ? (dilation * (kernel - 1)) / 2 : 0;
      this.fc6 = this.convUnit(
        'fc6',
        pool5Channels,
        fcChannels,
        kernel,
        dilation,
        padding,
        c.batchNorm,
        rng,
        true,
      );
      const dropout = () =>
        c.dropoutMode === 'element'
          ? new Dropout(c.dropout, rng.split())
          : new Dropout2d(c.dropout, rng.split());
      this.dropouts.push(this.registerModule('drop6', dropout()));
      this.fc7 = this.convUnit('fc7', fcChannels, fcChannels, 1, 1, 0, c.batchNorm, rng, true);
      this.dropouts.push(this.registerModule('drop7', dropout()));
      fc7Channels = fcChannels;
    }
    this.channels = {
      pool3: width(256),
      pool4: width(512),
      pool5: pool5Channels,
      fc7: fc7Channels,
    };
  }

  private convUnit(
    name: string,
    inChannels: number,
    outChannels: number,
    kernel: number,
    dilation: number,
    padding: number,
    batchNorm: boolean,
    rng: Rng,
    fullyConnected = false,
  ): ConvUnit {
    // torchvision's VGG initialisation: He (fan-out) for convs, N(0, 0.01) for the fc layers, zero bias.
    const conv = this.registerModule(
      name,
      new Conv2d({
        inChannels,
        outChannels,
        kernelSize: kernel,
        dilation,
        padding,
        // Keep the conv bias with batch norm too: ImageNet VGG16 weights have one.
        bias: true,
        rng,
        weightInit: fullyConnected ? normal(0.01) : heNormal({ mode: 'fanOut' }),
        biasInit: zeros(),
      }),
    );
    const bn = batchNorm ? this.registerModule(`${name}_bn`, new BatchNorm2d(outChannels)) : null;
    return { conv, bn };
  }

  private runUnit(unit: ConvUnit, x: tf.Tensor4D): tf.Tensor4D {
    if (!unit.bn) return unit.conv.forward(x, { activation: 'relu' });
    return tf.relu(unit.bn.forward(unit.conv.forward(x)));
  }

  /**
   * Runs the network on NHWC images (already normalised). Returns the features the decoders use;
   * with `{ switches: true }` also every pooling layer's switches and input size (DeconvNet,
   * SegNet). The caller owns (and disposes) the returned tensors.
   */
  forward(x: tf.Tensor4D, options: { switches?: boolean } = {}): VGG16Features {
    if (x.shape[3] !== this.config.inChannels) {
      throw new ConfigError(`VGG16 expects ${this.config.inChannels} input channels, got ${x.shape[3]}`);
    }
    return tf.tidy(() => {
      const pooled: tf.Tensor4D[] = [];
      const switches: PoolSwitches[] = [];
      let h = x;
      this.blocks.forEach((units, b) => {
        for (const unit of units) h = this.runUnit(unit, h);
        const pool = this.pools[b];
        if (!pool) {
          // No pooling layer here: the block's output is the "pooled" map.
          pooled.push(h);
          return;
        }
        if (options.switches) {
          const inputSize: [number, number] = [h.shape[1], h.shape[2]];
          const result = pool.forwardWithSwitches(h);
          switches.push({ switches: result.switches, inputSize });
          h = result.output;
        } else {
          h = pool.forward(h);
        }
        pooled.push(h);
      });
      const features: VGG16Features = { pool3: pooled[2]!, pool4: pooled[3]!, pool5: pooled[4]! };
      if (this.fc6 && this.fc7) {
        let f = this.dropouts[0]!.forward(this.runUnit(this.fc6, h));
        f = this.dropouts[1]!.forward(this.runUnit(this.fc7, f));
        features.fc7 = f;
      }
      if (options.switches) features.switches = switches;
      return features as unknown as tf.TensorContainerObject;
    }) as unknown as VGG16Features;
  }

  /**
   * Loads ImageNet weights, detecting the format: the TF.js Layers model that
   * tensorflowjs_converter writes for `keras.applications.VGG16` (with or without the top), or
   * Keras' HDF5 weight files. fc1/fc2 become fc6/fc7 (decimated for DeepLab's LargeFOV head); the
   * weights' normalisation (Caffe/Keras: BGR, mean subtraction on 0..255) is recorded in
   * `normalization`. Batch-norm parameters, which ImageNet VGG16 has none of, keep their initial
   * values; the report lists what was loaded and what was not.
   */
  async loadWeights(source: WeightsSource): Promise<ImportReport> {
    const report = await importWeights(this, source);
    // The producer's preprocessing: Caffe and Keras files BGR minus the mean, torchvision's ImageNet mean/std.
    this.normalization = report.normalization;
    return report;
  }
}
