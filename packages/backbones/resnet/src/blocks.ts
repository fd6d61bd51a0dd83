import type { Rng } from '@semseg/core';
import { Conv2d, Layer, Sequential, TorchBatchNorm2d, heNormal } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

/** How a block's layers are built: torchvision's conv init and the batch-norm kind. */
export interface BlockContext {
  rng: Rng;
  frozenBatchNorm: boolean;
}

/** torchvision's conv3x3 / conv1x1: no bias, padding = dilation, kaiming_normal_(fan_out, relu). */
export function conv(
  inChannels: number,
  outChannels: number,
  kernelSize: 1 | 3 | 7,
  stride: number,
  dilation: number,
  { rng }: BlockContext,
): Conv2d {
  return new Conv2d({
    inChannels,
    outChannels,
    kernelSize,
    stride,
    dilation,
    padding: kernelSize === 7 ? 3 : kernelSize === 3 ? dilation : 0,
    bias: false,
    rng,
    weightInit: heNormal({ mode: 'fanOut' }),
  });
}

export function batchNorm(channels: number, { frozenBatchNorm }: BlockContext): TorchBatchNorm2d {
  return new TorchBatchNorm2d(channels, { frozen: frozenBatchNorm });
}

/** torchvision's `downsample`: Sequential(conv1x1(stride), norm). */
export function downsample(
  inChannels: number,
  outChannels: number,
  stride: number,
  ctx: BlockContext,
): Sequential {
  return new Sequential([conv(inChannels, outChannels, 1, stride, 1, ctx), batchNorm(outChannels, ctx)]);
}

export interface BlockSpec {
  inChannels: number;
  /** torchvision's `planes`: the block's inner width. */
  planes: number;
  stride: number;
  dilation: number;
  downsample: Sequential | null;
}

abstract class ResidualBlock extends Layer {
  abstract readonly outChannels: number;
  readonly downsample: Sequential | null;

  protected constructor(downsampleBranch: Sequential | null) {
    super();
    this.downsample = downsampleBranch;
  }

  protected abstract residual(x: tf.Tensor4D): tf.Tensor4D;

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return tf.relu(tf.add(this.residual(x), identity)) as tf.Tensor4D;
    });
  }
}

/** ResNet-18/34's block: two 3x3 convs (torchvision's BasicBlock, expansion 1). */
export class BasicBlock extends ResidualBlock {
  static readonly expansion = 1;
  readonly outChannels: number;
  readonly conv1: Conv2d;
  readonly bn1: TorchBatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: TorchBatchNorm2d;

  constructor(spec: BlockSpec, ctx: BlockContext) {
    super(spec.downsample);
    this.outChannels = spec.planes;
    this.conv1 = this.registerModule(
      'conv1',
      conv(spec.inChannels, spec.planes, 3, spec.stride, spec.dilation, ctx),
    );
    this.bn1 = this.registerModule('bn1', batchNorm(spec.planes, ctx));
    this.conv2 = this.registerModule('conv2', conv(spec.planes, spec.planes, 3, 1, spec.dilation, ctx));
    this.bn2 = this.registerModule('bn2', batchNorm(spec.planes, ctx));
    if (spec.downsample) this.registerModule('downsample', spec.downsample);
  }

  protected residual(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.relu(this.bn1.forward(this.conv1.forward(x)));
    return this.bn2.forward(this.conv2.forward(y));
  }
}

/** ResNet-50/101/152's block: 1x1, 3x3 (carrying the stride, "ResNet v1.5"), 1x1 to 4 x planes. */
export class Bottleneck extends ResidualBlock {
  static readonly expansion = 4;
  readonly outChannels: number;
  readonly conv1: Conv2d;
  readonly bn1: TorchBatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: TorchBatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: TorchBatchNorm2d;

  constructor(spec: BlockSpec, ctx: BlockContext) {
    super(spec.downsample);
    const { planes } = spec;
    this.outChannels = planes * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', conv(spec.inChannels, planes, 1, 1, 1, ctx));
    this.bn1 = this.registerModule('bn1', batchNorm(planes, ctx));
    this.conv2 = this.registerModule('conv2', conv(planes, planes, 3, spec.stride, spec.dilation, ctx));
    this.bn2 = this.registerModule('bn2', batchNorm(planes, ctx));
    this.conv3 = this.registerModule('conv3', conv(planes, this.outChannels, 1, 1, 1, ctx));
    this.bn3 = this.registerModule('bn3', batchNorm(this.outChannels, ctx));
    if (spec.downsample) this.registerModule('downsample', spec.downsample);
  }

  protected residual(x: tf.Tensor4D): tf.Tensor4D {
    const a = tf.relu(this.bn1.forward(this.conv1.forward(x)));
    const b = tf.relu(this.bn2.forward(this.conv2.forward(a)));
    return this.bn3.forward(this.conv3.forward(b));
  }
}

export type Block = BasicBlock | Bottleneck;
