import type { Rng } from '@semseg/core';
import {
  Conv2d,
  DepthwiseConv2d,
  Hardswish,
  Layer,
  ReLU,
  Sequential,
  TorchBatchNorm2d,
  hardsigmoid,
  heNormal,
  zeros,
} from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import { type BlockSetting, makeDivisible } from './config.js';

export type Activation = 'relu' | 'hardswish' | null;

/** torchvision's MobileNetV3 batch norm: eps 0.001, momentum 0.01. */
export function batchNorm(channels: number): TorchBatchNorm2d {
  return new TorchBatchNorm2d(channels, { eps: 0.001, momentum: 0.01 });
}

function activation(kind: Exclude<Activation, null>): Layer {
  return kind === 'hardswish' ? new Hardswish() : new ReLU();
}

export interface ConvSpec {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  dilation?: number;
  /** A depthwise conv (groups = channels). */
  depthwise?: boolean;
  activation: Activation;
}

/**
 * torchvision's Conv2dNormActivation: conv (no bias, padding (k - 1) / 2 x dilation,
 * kaiming_normal_ fan_out), batch norm, activation; children `0`, `1`, `2` as its state_dict.
 */
export function convNormActivation(spec: ConvSpec, rng: Rng): Sequential {
  const stride = spec.stride ?? 1;
  const dilation = spec.dilation ?? 1;
  const padding = ((spec.kernelSize - 1) / 2) * dilation;
  const weightInit = heNormal({ mode: 'fanOut' });
  const conv = spec.depthwise
    ? new DepthwiseConv2d({
        channels: spec.inChannels,
        kernelSize: spec.kernelSize,
        stride,
        padding,
        dilation,
        bias: false,
        rng,
        weightInit,
      })
    : new Conv2d({
        inChannels: spec.inChannels,
        outChannels: spec.outChannels,
        kernelSize: spec.kernelSize,
        stride,
        padding,
        dilation,
        bias: false,
        rng,
        weightInit,
      });
  const layers: Layer[] = [conv, batchNorm(spec.outChannels)];
  if (spec.activation) layers.push(activation(spec.activation));
  return new Sequential(layers);
}

/**
 * torchvision's SqueezeExcitation as MobileNetV3 uses it: global average, `fc1` 1x1 + ReLU, `fc2`
 * 1x1 + hardsigmoid, times the input.
 */
export class SqueezeExcitation extends Layer {
  readonly fc1: Conv2d;
  readonly fc2: Conv2d;

  constructor(channels: number, squeezeChannels: number, rng: Rng) {
    super();
    const init = { rng, weightInit: heNormal({ mode: 'fanOut' }), biasInit: zeros(), kernelSize: 1 } as const;
    this.fc1 = this.registerModule(
      'fc1',
      new Conv2d({ inChannels: channels, outChannels: squeezeChannels, ...init }),
    );
    this.fc2 = this.registerModule(
      'fc2',
      new Conv2d({ inChannels: squeezeChannels, outChannels: channels, ...init }),
    );
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const pooled = tf.mean(x, [1, 2], true) as tf.Tensor4D;
      const scale = hardsigmoid(this.fc2.forward(tf.relu(this.fc1.forward(pooled))));
      return tf.mul(x, scale) as tf.Tensor4D;
    });
  }
}

/** A block setting with torchvision's width rounding applied. */
export function scaledSetting(s: BlockSetting, width: number): BlockSetting {
  const scale = (c: number) => makeDivisible(c * width);
  return { ...s, input: scale(s.input), expanded: scale(s.expanded), output: scale(s.output) };
}

/**
 * torchvision's InvertedResidual: 1x1 expansion (when it widens), depthwise k x k (stride 1 where
 * dilated), squeeze-excitation, 1x1 projection; the input added back at stride 1 when the channels
 * agree. Children under `block` as its state_dict (`block.0.0.weight`, `block.2.fc1.bias`).
 */
export class InvertedResidual extends Layer {
  readonly setting: BlockSetting;
  readonly block: Sequential;
  readonly outChannels: number;
  readonly useResidual: boolean;
  /** torchvision's `_is_cn`: the block has stride 2 in its setting (even when dilated instead). */
  readonly isStageStart: boolean;

  constructor(setting: BlockSetting, rng: Rng) {
    super();
    this.setting = setting;
    const { input, expanded, output, kernel, dilation } = setting;
    this.useResidual = setting.stride === 1 && input === output;
    this.isStageStart = setting.stride > 1;
    this.outChannels = output;
    const layers: Layer[] = [];
    if (expanded !== input) {
      layers.push(
        convNormActivation(
          { inChannels: input, outChannels: expanded, kernelSize: 1, activation: setting.activation },
          rng,
        ),
      );
    }
    layers.push(
      convNormActivation(
        {
          inChannels: expanded,
          outChannels: expanded,
          kernelSize: kernel,
          stride: dilation > 1 ? 1 : setting.stride,
          dilation,
          depthwise: true,
          activation: setting.activation,
        },
        rng,
      ),
    );
    if (setting.squeezeExcite)
      layers.push(new SqueezeExcitation(expanded, makeDivisible(Math.floor(expanded / 4)), rng));
    layers.push(
      convNormActivation({ inChannels: expanded, outChannels: output, kernelSize: 1, activation: null }, rng),
    );
    this.block = this.registerModule('block', new Sequential(layers));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = this.block.forward(x);
      return this.useResidual ? (tf.add(y, x) as tf.Tensor4D) : y;
    });
  }
}
