import { Module, Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Dropout2d,
  MaxPool2d,
  MaxUnpool2d,
  ReLU,
  ResizeConv2d,
  Upsample,
  classifier,
  heNormal,
  l2WeightDecay,
  softmaxCrossEntropy,
} from '../../src/index.js';

/**
 * Every trainable layer the seed models use, in one small encoder-decoder: conv + BN + ReLU,
 * ceil-mode pool with switches, an atrous conv, dropout, strided conv, transposed conv, resize-conv,
 * unpooling, bilinear upsampling, a 1x1 classifier.
 */
export class TinyNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu = new ReLU();
  readonly pool: MaxPool2d;
  readonly atrous: Conv2d;
  readonly drop: Dropout2d;
  readonly down: Conv2d;
  readonly up: ConvTranspose2d;
  readonly resizeConv: ResizeConv2d;
  readonly unpool: MaxUnpool2d;
  readonly score: Conv2d;
  readonly bilinear = new Upsample({ scaleFactor: 1, mode: 'bilinear' });

  constructor(seed: number) {
    super();
    const rng = new Rng(seed);
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, rng }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(4));
    this.pool = this.registerModule('pool', new MaxPool2d({ kernelSize: 2, stride: 2, ceilMode: true }));
    this.atrous = this.registerModule(
      'atrous',
      new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, dilation: 2, padding: 2, rng }),
    );
    this.drop = this.registerModule('drop', new Dropout2d(0.25, rng.derive('dropout')));
    this.down = this.registerModule(
      'down',
      new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, stride: 2, padding: 1, rng }),
    );
    this.up = this.registerModule(
      'up',
      new ConvTranspose2d({ inChannels: 4, outChannels: 4, kernelSize: 4, stride: 2, padding: 1, rng }),
    );
    this.resizeConv = this.registerModule(
      'resizeConv',
      new ResizeConv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, scaleFactor: 1, rng }),
    );
    this.unpool = this.registerModule('unpool', new MaxUnpool2d({ kernelSize: 2, stride: 2 }));
    this.score = this.registerModule('score', classifier(4, 3, { rng, weightInit: heNormal() }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const features = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
      const { output, switches } = this.pool.forwardWithSwitches(features);
      const deep = this.drop.forward(this.relu.forward(this.atrous.forward(output)));
      const [, ph, pw] = deep.shape;
      const restored = this.up.forward(this.relu.forward(this.down.forward(deep)), [
        ph + (ph % 2),
        pw + (pw % 2),
      ]);
      const cropped = tf.slice(restored, [0, 0, 0, 0], deep.shape);
      const decoded = this.resizeConv.forward(tf.add(cropped, deep) as tf.Tensor4D);
      const unpooled = this.unpool.forward(decoded, switches, [x.shape[1], x.shape[2]]);
      return this.bilinear.forward(this.score.forward(unpooled));
    });
  }

  loss(x: tf.Tensor4D, labels: Uint8Array): tf.Scalar {
    return tf.tidy(
      () => tf.add(softmaxCrossEntropy(this.forward(x), labels), l2WeightDecay(this, 5e-4)) as tf.Scalar,
    );
  }
}

export function tinyBatch(seed: number): { x: tf.Tensor4D; labels: Uint8Array } {
  const rng = new Rng(seed);
  const shape: [number, number, number, number] = [2, 7, 9, 3];
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 7 * 9 * 3)), shape);
  const labels = new Uint8Array(2 * 7 * 9);
  for (let i = 0; i < labels.length; i++) labels[i] = rng.bernoulli(0.1) ? 255 : rng.int(3);
  return { x, labels };
}
