import { Module, type Rng } from '@semseg/core';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, MaxPool2d, heUniform, zeros } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

/** Lasagne's BatchNormLayer defaults (epsilon 1e-4, alpha 0.1), as the authors' code. */
const BN = { eps: 1e-4, momentum: 0.1 };

/** BN - ReLU - conv (3x3 or 1x1, 'same', He uniform) - dropout: the paper's layer (Table 1). */
export class BnReluConv extends Module {
  readonly bn: BatchNorm2d;
  readonly conv: Conv2d;
  readonly dropout: Dropout;

  constructor(inChannels: number, outChannels: number, kernelSize: 1 | 3, dropout: number, rng: Rng) {
    super();
    this.bn = this.registerModule('bn', new BatchNorm2d(inChannels, BN));
    this.conv = this.registerModule(
      'conv',
      new Conv2d({
        inChannels,
        outChannels,
        kernelSize,
        padding: (kernelSize - 1) / 2,
        rng: rng.derive('conv'),
        weightInit: heUniform(),
        biasInit: zeros(),
      }),
    );
    this.dropout = this.registerModule('dropout', new Dropout(dropout, rng.derive('dropout')));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.dropout.forward(this.conv.forward(tf.relu(this.bn.forward(x)))));
  }
}

/** A dense block: each layer sees the concatenation of the block's input and all earlier layers. */
export class DenseBlock extends Module {
  readonly layers: BnReluConv[];
  readonly inChannels: number;
  readonly growthRate: number;

  constructor(inChannels: number, numLayers: number, growthRate: number, dropout: number, rng: Rng) {
    super();
    this.inChannels = inChannels;
    this.growthRate = growthRate;
    this.layers = Array.from({ length: numLayers }, (_, i) =>
      this.registerModule(
        `layer${i + 1}`,
        new BnReluConv(inChannels + i * growthRate, growthRate, 3, dropout, rng.derive(`layer${i + 1}`)),
      ),
    );
  }

  /** Channels of the stack it returns (input and new features). */
  get outChannels(): number {
    return this.inChannels + this.layers.length * this.growthRate;
  }

  /** The stack (input then new features, as the reference concatenates) and the new features alone. */
  forward(x: tf.Tensor4D): { stack: tf.Tensor4D; added: tf.Tensor4D } {
    return tf.tidy(() => {
      let stack = x;
      const added: tf.Tensor4D[] = [];
      for (const layer of this.layers) {
        const features = layer.forward(stack);
        added.push(features);
        stack = tf.concat([stack, features], 3) as tf.Tensor4D;
      }
      const newFeatures = added.length === 1 ? added[0]! : (tf.concat(added, 3) as tf.Tensor4D);
      return { stack, added: newFeatures };
    });
  }
}

/** Transition down: BN - ReLU - 1x1 conv (same channels) - dropout - 2x2 max pooling. */
export class TransitionDown extends Module {
  readonly layer: BnReluConv;
  // Floor mode, as Lasagne's ignore_border; its gradient is right on wasm too (see @semseg/layers).
  private readonly pool = new MaxPool2d({ kernelSize: 2 });

  constructor(channels: number, dropout: number, rng: Rng) {
    super();
    this.layer = this.registerModule(
      'layer',
      new BnReluConv(channels, channels, 1, dropout, rng.derive('layer')),
    );
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.pool.forward(this.layer.forward(x)));
  }
}

/**
 * Transition up: a 3x3 transposed convolution of stride 2 (no padding: 2n + 1 outputs) on the
 * previous block's new features, cropped to the skip's size as Lasagne's centre cropping does
 * (start (2n + 1 - S) / 2 rounded down = 0, since S is 2n or 2n + 1), then concatenated before it.
 */
export class TransitionUp extends Module {
  readonly deconv: ConvTranspose2d;

  constructor(inChannels: number, outChannels: number, rng: Rng) {
    super();
    this.deconv = this.registerModule(
      'deconv',
      new ConvTranspose2d({
        inChannels,
        outChannels,
        kernelSize: 3,
        stride: 2,
        rng: rng.derive('deconv'),
        weightInit: heUniform(),
        biasInit: zeros(),
      }),
    );
  }

  forward(x: tf.Tensor4D, skip: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const up = this.deconv.forward(x);
      const [, sh, sw] = skip.shape;
      const top = Math.floor((up.shape[1] - sh) / 2);
      const left = Math.floor((up.shape[2] - sw) / 2);
      const cropped = tf.slice(up, [0, top, left, 0], [-1, sh, sw, -1]);
      return tf.concat([cropped, skip], 3) as tf.Tensor4D;
    });
  }
}
