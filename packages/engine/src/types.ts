import type { Normalization } from '@semseg/core';
import type { CrfSettings, PresetName } from '@semseg/crf';

/** An RGB image, HWC row-major, 0..255. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** How the network is applied to an image (mmsegmentation's test_cfg). */
export interface InferenceOptions {
  /** How images are normalised for this model (a checkpoint's `normalization`). */
  normalization: Normalization;
  /** 'whole': the image at once; 'slide': overlapping crop windows whose logits are averaged. */
  mode?: 'whole' | 'slide';
  /** Window size for 'slide' ([height, width]). Default [512, 512]. */
  crop?: readonly [number, number];
  /** Window stride for 'slide'. Default: two thirds of the crop. */
  stride?: readonly [number, number];
  /** Scales to run at; probabilities are resized back and averaged. Default [1]. */
  scales?: readonly number[];
  /** Also run on the horizontally flipped image and average. Default false. */
  flip?: boolean;
  /** Windows per forward pass in 'slide' mode. Default 4. */
  batchSize?: number;
}

/** Dense CRF post-processing: a preset name or explicit settings. */
export type CrfOption = PresetName | CrfSettings;

export interface Prediction {
  width: number;
  height: number;
  numClasses: number;
  /** Class probabilities H x W x C (row-major), averaged over scales and flips. */
  probabilities: Float32Array;
  /** argmax of the probabilities (first index on ties). */
  labels: Uint8Array;
  /** Milliseconds per stage. */
  timings: { preprocess: number; network: number; crf?: number };
}

export interface CrfRefined {
  /** The CRF's marginals Q, H x W x C. */
  q: Float32Array;
  labels: Uint8Array;
  milliseconds: number;
}
