import * as tf from '@tensorflow/tfjs-core';
import { Layer } from './layer.js';

/** x * relu6(x + 3) / 6 (Howard et al. 2019; torch.nn.Hardswish). */
export function hardswish(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.mul(x, hardsigmoid(x)) as tf.Tensor4D);
}

/** relu6(x + 3) / 6 (torch.nn.Hardsigmoid). */
export function hardsigmoid(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6) as tf.Tensor4D);
}

export class Hardswish extends Layer {
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return hardswish(x);
  }
}

export class Hardsigmoid extends Layer {
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return hardsigmoid(x);
  }
}

export class Sigmoid extends Layer {
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.sigmoid(x);
  }
}
