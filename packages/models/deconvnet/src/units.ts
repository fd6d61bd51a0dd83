import { Module, type Rng } from '@semseg/core';
import { BatchNorm2d, Conv2d, ConvTranspose2d, type UnpoolGeometry, maxUnpool2d } from '@semseg/layers';
import type { PoolSwitches } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';

/** A decoder layer: transposed conv (DeconvNet) or conv (SegNet), then batch norm, then ReLU. */
export interface ConvUnit {
  conv: Conv2d | ConvTranspose2d;
  bn: BatchNorm2d;
  relu: boolean;
}

export interface UnitSpec {
  name: string;
  kind: 'deconv' | 'conv';
  inChannels: number;
  outChannels: number;
  kernel: number;
  padding: number;
  /** Default true. */
  relu?: boolean;
}

/** A named group of conv + BN (+ ReLU) units: the decoder (and SegNet-Basic's encoder). */
export class UnitStack extends Module {
  /**
   * Adds `<name>` (the conv, with a bias as the references) and `<name>_bn`. PyTorch's default
   * initialisation, as the seed's code leaves it.
   */
  add(spec: UnitSpec, rng: Rng): ConvUnit {
    const options = {
      inChannels: spec.inChannels,
      outChannels: spec.outChannels,
      kernelSize: spec.kernel,
      padding: spec.padding,
      rng,
    };
    const conv = this.registerModule(
      spec.name,
      spec.kind === 'deconv' ? new ConvTranspose2d(options) : new Conv2d(options),
    );
    const bn = this.registerModule(`${spec.name}_bn`, new BatchNorm2d(spec.outChannels));
    return { conv, bn, relu: spec.relu ?? true };
  }

  /** Adds a layer that is not a unit (SegNet's last conv). */
  addLayer<M extends Module>(name: string, module: M): M {
    return this.registerModule(name, module);
  }
}

export function runUnit(unit: ConvUnit, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const y = unit.bn.forward(unit.conv.forward(x));
    return unit.relu ? tf.relu(y) : y;
  });
}

const UNPOOL: UnpoolGeometry = { kernel: [2, 2], stride: [2, 2], padding: [0, 0] };

/**
 * Puts each value back where its 2x2 window's maximum was, on a grid of the pooled layer's input
 * size: right for odd sizes too (ceil-mode pooling), where PyTorch's MaxUnpool2d without
 * `output_size` lays the indices out on a grid one wider and misplaces them.
 */
export function unpool(x: tf.Tensor4D, pooled: PoolSwitches): tf.Tensor4D {
  return maxUnpool2d(x, pooled.switches, UNPOOL, pooled.inputSize);
}

/** Size after `times` 2x2 ceil-mode poolings. */
export function pooledLength(length: number, times: number): number {
  let n = length;
  for (let i = 0; i < times; i++) n = Math.ceil(n / 2);
  return n;
}
