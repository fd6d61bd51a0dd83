import type { SegmentationModel } from '@semseg/core';
import { ConfusionMatrix } from '@semseg/metrics';
import { refineWithCrf } from './inference/crf.js';
import { predictImageAsync } from './inference/predict.js';
import type { CrfOption, InferenceOptions, Prediction, RgbImage } from './types.js';

export interface EvaluationOptions extends InferenceOptions {
  /** Also score the CRF-refined labels (in a second matrix). */
  crf?: CrfOption | null;
  ignoreIndex?: number;
}

/**
 * Accumulates confusion matrices over images: the network's labels and, with a CRF, the refined
 * labels from the same probabilities (so "with and without CRF" costs one network pass).
 */
export class Evaluator {
  readonly matrix: ConfusionMatrix;
  readonly crfMatrix: ConfusionMatrix | null;
  private readonly options: EvaluationOptions;

  constructor(
    private readonly model: SegmentationModel,
    options: EvaluationOptions,
  ) {
    this.options = options;
    const ignoreIndex = options.ignoreIndex ?? 255;
    this.matrix = new ConfusionMatrix(model.numClasses, { ignoreIndex });
    this.crfMatrix = options.crf ? new ConfusionMatrix(model.numClasses, { ignoreIndex }) : null;
  }

  /** Predicts one image and scores it against its label (H*W class indices, 255 ignored). */
  async add(image: RgbImage, label: Uint8Array): Promise<{ prediction: Prediction; crfLabels?: Uint8Array }> {
    this.model.eval();
    const prediction = await predictImageAsync(this.model, image, this.options);
    this.matrix.update(prediction.labels, label);
    if (!this.options.crf || !this.crfMatrix) return { prediction };
    const refined = refineWithCrf(image, prediction, this.options.crf);
    prediction.timings.crf = refined.milliseconds;
    this.crfMatrix.update(refined.labels, label);
    return { prediction, crfLabels: refined.labels };
  }
}
