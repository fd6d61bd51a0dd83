import { Module, type Normalization, type SegmentationModel, type TrainingOutput } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  DEEPLAB_NORMALIZATION,
  alignedLength,
  cropTopLeft,
  interp,
  padImages,
  padLabels,
  shrinkLabels,
} from './caffe-ops.js';
import type { LossResolution, SizeRule } from './config.js';

/** How a stride-8 DeepLab handles sizes, scales and its loss. */
export interface StrideEightRules {
  sizeRule: SizeRule;
  lossResolution: LossResolution;
  /** Multi-scale inputs, the first 1 (a single [1]: no MSC). */
  scales: readonly number[];
}

/** Every scale's score map at its own size and their max fusion at the first scale's size. */
export interface MultiScaleScores {
  perScale: tf.Tensor4D[];
  fused: tf.Tensor4D;
}

/** A scaled input's length as Caffe's Interp gives it (0.75: shrink 4 zoom 3; 0.5: shrink 2). */
export function scaledLength(n: number, scale: number): number {
  return Math.floor((n - 1) * scale + 1e-9) + 1;
}

/**
 * What DeepLab v1/v2 share around their networks: the input-size rule, multi-scale inputs with max
 * fusion (MSC), Caffe's Interp x8 to the input, and the training loss on every scale's score map
 * and the fused one against labels shrunk to each, as the released prototxts (or at full
 * resolution as an option). Subclasses give the stride-8 score map.
 */
export abstract class StrideEightSegmenter extends Module implements SegmentationModel {
  abstract readonly numClasses: number;
  abstract readonly config: Record<string, unknown>;
  protected abstract readonly rules: StrideEightRules;

  /** DeepLab's data layers: BGR minus (104.008, 116.669, 122.675). */
  get normalization(): Normalization {
    return DEEPLAB_NORMALIZATION;
  }

  /** The stride-8 score map (N x h x w x classes) of a normalised batch. */
  abstract scores(x: tf.Tensor4D): tf.Tensor4D;

  /** The size the network runs on for an input of height x width (see `sizeRule`). */
  workingSize(height: number, width: number): [number, number] {
    return this.rules.sizeRule === 'pad' ? [alignedLength(height), alignedLength(width)] : [height, width];
  }

  /** Score maps of every scale (inputs resized by Interp) and their pixel-wise max at scale 1's size. */
  multiScaleScores(x: tf.Tensor4D): MultiScaleScores {
    return tf.tidy(() => {
      const [, h, w] = x.shape;
      const perScale = this.rules.scales.map((s) =>
        s === 1 ? this.scores(x) : this.scores(interp(x, [scaledLength(h, s), scaledLength(w, s)])),
      );
      const first = perScale[0]!;
      const size: [number, number] = [first.shape[1], first.shape[2]];
      const fused = perScale
        .slice(1)
        .reduce<tf.Tensor4D>((acc, s) => tf.maximum(acc, interp(s, size)) as tf.Tensor4D, first);
      return { perScale, fused: fused === first ? tf.clone(first) : fused };
    }) as unknown as MultiScaleScores;
  }

  /** Logits N x H x W x classes at the input's size. */
  forward(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, height, width] = images.shape;
      const size = this.workingSize(height, width);
      const { fused } = this.multiScaleScores(padImages(images, size));
      return cropTopLeft(interp(fused, size), height, width);
    });
  }

  /**
   * The released models' loss terms: every scale's score map and (with several scales) the fused
   * one, each against the labels shrunk to its size (`label_shrink`), weight 1 each; with
   * `lossResolution: 'full'` the same maps upsampled to the input against the full labels.
   */
  trainingOutputs(images: tf.Tensor4D, labels: tf.Tensor3D): TrainingOutput[] {
    return tf.tidy(() => {
      const [, height, width] = images.shape;
      const size = this.workingSize(height, width);
      const { perScale, fused } = this.multiScaleScores(padImages(images, size));
      const maps = perScale.length > 1 ? [...perScale, fused] : perScale;
      if (this.rules.lossResolution === 'full') {
        return maps.map((m) => ({
          logits: cropTopLeft(interp(m, size), height, width),
          labels: tf.clone(labels),
          weight: 1,
        }));
      }
      const padded = padLabels(labels, size);
      return maps.map((m) => ({
        logits: m,
        labels: shrinkLabels(padded, [m.shape[1], m.shape[2]]),
        weight: 1,
      }));
    }) as unknown as TrainingOutput[];
  }
}
