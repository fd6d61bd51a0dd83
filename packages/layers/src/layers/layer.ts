import { Module } from '@semseg/core';
import type * as tf from '@tensorflow/tfjs-core';

/** A module with one NHWC input and one NHWC output; what Sequential chains. */
export abstract class Layer extends Module {
  abstract forward(x: tf.Tensor4D): tf.Tensor4D;
}
