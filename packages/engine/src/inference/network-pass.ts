import { InputError, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A model whose network pass runs outside tfjs (onnxruntime): the inference path awaits
 * `forwardAsync` where it would call `forward`, and keeps its own pre- and post-processing.
 */
export interface AsyncForward {
  /** Logits N x H x W x C of normalised N x H x W x 3 images: a new tensor the caller disposes. */
  forwardAsync(images: tf.Tensor4D): Promise<tf.Tensor4D>;
}

/** A model the inference path runs: tfjs's `forward`, or an outside runtime's `forwardAsync`. */
export type InferenceModel = SegmentationModel & Partial<AsyncForward>;

/** The model's pass runs asynchronously (outside tfjs). */
export function runsAsync(model: InferenceModel): model is SegmentationModel & AsyncForward {
  return typeof model.forwardAsync === 'function';
}

/**
 * One inference pass written once for both drivers: it yields each batch of network inputs and
 * is resumed with their logits. The pass owns what it yields (and disposes it); the logits it
 * receives become its own. So the same code runs synchronously on a tfjs model and
 * asynchronously on onnxruntime, with one preprocessing and post-processing.
 */
export type NetworkPass<R> = Generator<tf.Tensor4D, R, tf.Tensor4D>;

/** The model's logits for one batch, in their own tensor (intermediates freed). */
function forwardSync(model: SegmentationModel, images: tf.Tensor4D): tf.Tensor4D {
  const logits = tf.tidy(() => model.forward(images));
  // A model that hands back its input would see it disposed with the batch.
  return logits === images ? (tf.clone(images) as tf.Tensor4D) : logits;
}

/** Logits of one batch by whichever pass the model has (tfjs: synchronous, else awaited). */
export async function forwardLogits(model: InferenceModel, images: tf.Tensor4D): Promise<tf.Tensor4D> {
  if (!runsAsync(model)) return forwardSync(model, images);
  const logits = await model.forwardAsync(images);
  return logits === images ? (tf.clone(images) as tf.Tensor4D) : logits;
}

/** Runs a pass with tfjs's synchronous `forward`. */
export function runPass<R>(pass: NetworkPass<R>, model: InferenceModel): R {
  if (runsAsync(model)) {
    pass.return(undefined as R);
    throw new InputError(
      'this model runs its network outside tfjs (onnxruntime): use predictImageAsync, which awaits it',
    );
  }
  let step = pass.next();
  while (!step.done) {
    let logits: tf.Tensor4D;
    try {
      logits = forwardSync(model, step.value);
    } catch (error) {
      // The pass frees what it holds and rethrows.
      step = pass.throw(error);
      continue;
    }
    step = pass.next(logits);
  }
  return step.value;
}

/** Runs a pass, awaiting the model's network where it runs outside tfjs. */
export async function runPassAsync<R>(pass: NetworkPass<R>, model: InferenceModel): Promise<R> {
  let step = pass.next();
  while (!step.done) {
    let logits: tf.Tensor4D;
    try {
      logits = await forwardLogits(model, step.value);
    } catch (error) {
      step = pass.throw(error);
      continue;
    }
    step = pass.next(logits);
  }
  return step.value;
}
