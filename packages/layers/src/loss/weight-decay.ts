import { Module, type ParameterEntry } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * L2 weight decay as a loss term: coefficient / 2 * sum of squares, whose gradient coefficient * w
 * is what Caffe's and PyTorch's `weight_decay` add. Over a module, it takes the trainable
 * parameters registered with `weightDecay` (biases and batch-norm parameters opt out, as in the
 * references); or over the parameter entries or variables given.
 */
export function l2WeightDecay(
  parameters: Module | readonly (ParameterEntry | tf.Variable)[],
  coefficient: number,
): tf.Scalar {
  const variables =
    parameters instanceof Module
      ? parameters
          .namedParameters()
          .filter((p) => p.trainable && p.weightDecay)
          .map((p) => p.variable)
      : parameters.map((p) => (p instanceof tf.Variable ? p : p.variable));
  return tf.tidy(() => {
    if (variables.length === 0) return tf.scalar(0);
    const squares = variables.map((v) => tf.sum(tf.square(v)));
    return tf.mul(coefficient / 2, squares.length === 1 ? squares[0]! : tf.addN(squares)) as tf.Scalar;
  });
}
