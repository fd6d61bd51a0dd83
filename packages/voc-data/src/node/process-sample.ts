import { type AugmentOptions, augmentSample } from '../augment.js';
import { type EvalTransformOptions, evalTransform } from '../eval-transform.js';
import { normalizeImage } from '../normalize.js';
import { SeededRandom } from '../random.js';
import type { Normalization } from '../types.js';
import { type SampleSource, loadSample } from './load-sample.js';

/** One unit of pipeline work, plain data so that it can be posted to a worker thread. */
export interface SampleJob {
  source: SampleSource;
  normalization: Normalization;
  /** Seed, epoch and index fix the augmentation, wherever and whenever the job runs. */
  seed: number | string;
  epoch: number;
  index: number;
  transform: { mode: 'train'; augment: AugmentOptions } | { mode: 'eval'; eval: EvalTransformOptions };
}

/** A decoded, transformed and normalised sample (image NHWC-ready floats, label indices). */
export interface ProcessedSample {
  id: string;
  width: number;
  height: number;
  image: Float32Array;
  label: Uint8Array;
  /** Instance ids, transformed with the label (train mode, when the source asked for them). */
  instances?: Uint16Array;
  originalWidth: number;
  originalHeight: number;
  /** The part of the output that holds image pixels rather than eval padding. */
  validWidth: number;
  validHeight: number;
}

/** Decode + augment (or eval transform) + normalise one sample. */
export async function processSample(job: SampleJob): Promise<ProcessedSample> {
  const sample = await loadSample(job.source);
  if (job.transform.mode === 'train') {
    const random = SeededRandom.forSample(job.seed, job.epoch, job.index);
    const out = augmentSample(sample, job.transform.augment, random);
    return {
      id: sample.id,
      width: out.width,
      height: out.height,
      image: normalizeImage(out.image, job.normalization),
      label: out.label,
      ...(out.instances ? { instances: out.instances } : {}),
      originalWidth: sample.width,
      originalHeight: sample.height,
      validWidth: out.width,
      validHeight: out.height,
    };
  }
  const out = evalTransform(sample, job.transform.eval);
  return {
    id: sample.id,
    width: out.width,
    height: out.height,
    image: normalizeImage(out.image, job.normalization),
    label: out.label,
    originalWidth: out.originalWidth,
    originalHeight: out.originalHeight,
    validWidth: out.validWidth,
    validHeight: out.validHeight,
  };
}
