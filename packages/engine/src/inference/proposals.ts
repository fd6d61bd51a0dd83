import { InputError } from '@semseg/core';
import { componentBoxes } from '@semseg/voc-data';
import * as tf from '@tensorflow/tfjs-core';
import type { InferenceOptions, Prediction, RgbImage } from '../types.js';
import { type InferenceModel, forwardLogits } from './network-pass.js';
import { argmaxLabels, normalizedTensor, predictImageAsync } from './predict.js';

/** An object box in pixels: columns x0..x1-1, rows y0..y1-1 (x1, y1 exclusive). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface ProposalOptions {
  /** The caller's boxes, or 'auto': boxes of the whole-image prediction's connected components. */
  boxes: readonly Box[] | 'auto';
  /** Each box grows by this fraction of its width and height on every side (default 0.2), then is clipped. */
  margin?: number;
  /** The network input each crop is resized to, [height, width] (default DeconvNet's 224 x 224). */
  inputSize?: readonly [number, number];
  /** 'auto': components smaller than this many pixels are dropped (default 16). */
  minArea?: number;
  /** 'auto': the class that makes no boxes (default 0, background). */
  background?: number;
}

/** What proposal-wise inference returns: the prediction and the boxes it used (after margin and clipping). */
export interface ProposalPrediction extends Prediction {
  boxes: Box[];
}

/** One proposal's class scores pasted back: `logits` is box height x box width x C. */
export interface ProposalScores {
  box: Box;
  logits: Float32Array;
}

function checkBox(box: Box, width: number, height: number, where: string): void {
  const { x0, y0, x1, y1 } = box;
  if (
    ![x0, y0, x1, y1].every(Number.isInteger) ||
    x0 < 0 ||
    y0 < 0 ||
    x1 > width ||
    y1 > height ||
    x1 <= x0 ||
    y1 <= y0
  ) {
    throw new InputError(
      `${where}: box [${x0}, ${y0}, ${x1}, ${y1}] is not a non-empty box inside the ${width}x${height} image`,
    );
  }
}

/**
 * Parses boxes as `semseg predict --proposals boxes.json` takes them: an object from image name
 * (file name or stem) to a list of `[x0, y0, x1, y1]` (pixels, x1 and y1 exclusive). `source`
 * names the file in errors.
 */
export function parseProposalBoxes(json: unknown, source: string): Map<string, Box[]> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InputError(`${source}: expected an object from image name to a list of [x0, y0, x1, y1] boxes`);
  }
  const out = new Map<string, Box[]>();
  for (const [name, list] of Object.entries(json as Record<string, unknown>)) {
    if (!Array.isArray(list))
      throw new InputError(`${source}: "${name}" must be a list of [x0, y0, x1, y1] boxes`);
    out.set(
      name,
      list.map((entry, i) => {
        if (!Array.isArray(entry) || entry.length !== 4 || !entry.every((v) => Number.isInteger(v))) {
          throw new InputError(`${source}: box ${i} of "${name}" must be four integers [x0, y0, x1, y1]`);
        }
        const [x0, y0, x1, y1] = entry as number[];
        if (x1! <= x0! || y1! <= y0!)
          throw new InputError(`${source}: box ${i} of "${name}" is empty (x1 <= x0 or y1 <= y0)`);
        return { x0: x0!, y0: y0!, x1: x1!, y1: y1! };
      }),
    );
  }
  return out;
}

/** Grows a box by `margin` of its size on each side and clips it to the image. */
export function enlargeBox(box: Box, margin: number, width: number, height: number): Box {
  const dx = Math.round((box.x1 - box.x0) * margin);
  const dy = Math.round((box.y1 - box.y0) * margin);
  return {
    x0: Math.max(0, box.x0 - dx),
    y0: Math.max(0, box.y0 - dy),
    x1: Math.min(width, box.x1 + dx),
    y1: Math.min(height, box.y1 + dy),
  };
}

/**
 * Bounding boxes of the 8-connected components of each class other than `background` in a label
 * map, largest first; components under `minArea` pixels are dropped. Candidate objects for
 * proposal-wise inference when no detector gives boxes.
 */
export function boxesFromLabels(
  labels: Uint8Array,
  width: number,
  height: number,
  options: { minArea?: number; background?: number } = {},
): Box[] {
  const minArea = options.minArea ?? 16;
  const background = options.background ?? 0;
  const found = componentBoxes(labels, width, height, background).filter((c) => c.area >= minArea);
  found.sort((a, b) => b.area - a.area);
  return found.map(({ box: { x0, y0, x1, y1 } }) => ({ x0, y0, x1, y1 }));
}

/**
 * The paper's aggregation (Noh et al. 2015, instance-wise segmentation): per pixel and class the
 * maximum of the proposals' scores, then a softmax over classes; pixels no proposal covers keep
 * the whole-image probabilities. `whole` is H x W x C probabilities.
 */
export function aggregateProposals(
  whole: Float32Array,
  proposals: readonly ProposalScores[],
  width: number,
  height: number,
  numClasses: number,
): Float32Array {
  if (whole.length !== width * height * numClasses) {
    throw new InputError(
      `whole-image probabilities hold ${whole.length} values, ${width}x${height}x${numClasses} expected`,
    );
  }
  const best = new Float32Array(width * height * numClasses).fill(Number.NEGATIVE_INFINITY);
  const covered = new Uint8Array(width * height);
  for (const { box, logits } of proposals) {
    checkBox(box, width, height, 'proposal');
    const bw = box.x1 - box.x0;
    if (logits.length !== bw * (box.y1 - box.y0) * numClasses) {
      throw new InputError(
        `proposal scores hold ${logits.length} values, the box needs ${bw * (box.y1 - box.y0) * numClasses}`,
      );
    }
    for (let y = box.y0; y < box.y1; y++) {
      for (let x = box.x0; x < box.x1; x++) {
        const p = y * width + x;
        covered[p] = 1;
        const from = ((y - box.y0) * bw + (x - box.x0)) * numClasses;
        for (let k = 0; k < numClasses; k++) {
          const v = logits[from + k]!;
          if (v > best[p * numClasses + k]!) best[p * numClasses + k] = v;
        }
      }
    }
  }
  const out = new Float32Array(whole);
  for (let p = 0; p < width * height; p++) {
    if (!covered[p]) continue;
    const o = p * numClasses;
    let top = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < numClasses; k++) top = Math.max(top, best[o + k]!);
    let sum = 0;
    for (let k = 0; k < numClasses; k++) {
      const e = Math.exp(best[o + k]! - top);
      out[o + k] = e;
      sum += e;
    }
    for (let k = 0; k < numClasses; k++) out[o + k]! /= sum;
  }
  return out;
}

/** One proposal: crop, resize to the network input, logits, resized back to the box. */
async function proposalScores(
  model: InferenceModel,
  normalized: tf.Tensor4D,
  box: Box,
  inputSize: readonly [number, number],
): Promise<Float32Array> {
  const bh = box.y1 - box.y0;
  const bw = box.x1 - box.x0;
  const input = tf.tidy(() => {
    const crop = tf.slice(normalized, [0, box.y0, box.x0, 0], [1, bh, bw, 3]);
    return tf.image.resizeBilinear(crop, [inputSize[0], inputSize[1]], false, true) as tf.Tensor4D;
  });
  let network: tf.Tensor4D;
  try {
    network = await forwardLogits(model, input);
  } finally {
    input.dispose();
  }
  const logits = tf.tidy(() => tf.image.resizeBilinear(network, [bh, bw], false, true));
  network.dispose();
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    logits.dispose();
  }
}

/**
 * Proposal-wise (the paper's instance-wise) inference: the whole image is segmented as
 * `predictImageAsync` does; then each box, grown by the margin, is cropped, resized to the network
 * input, segmented, and its scores resized back and pasted; per pixel the maximum over proposals
 * wins (`aggregateProposals`), the whole-image prediction where no box reaches. With 'auto' the
 * boxes are the whole-image prediction's connected components.
 */
export async function predictWithProposals(
  model: InferenceModel,
  image: RgbImage,
  inference: InferenceOptions,
  options: ProposalOptions,
): Promise<ProposalPrediction> {
  const margin = options.margin ?? 0.2;
  if (!(margin >= 0)) throw new InputError(`proposal margin must be a non-negative fraction, got ${margin}`);
  const inputSize = options.inputSize ?? [224, 224];
  const whole = await predictImageAsync(model, image, inference);
  const { width, height } = image;
  const raw =
    options.boxes === 'auto'
      ? boxesFromLabels(whole.labels, width, height, {
          ...(options.minArea === undefined ? {} : { minArea: options.minArea }),
          ...(options.background === undefined ? {} : { background: options.background }),
        })
      : options.boxes;
  raw.forEach((box, i) => checkBox(box, width, height, `proposal ${i}`));
  const boxes = raw.map((box) => enlargeBox(box, margin, width, height));
  const start = typeof performance !== 'undefined' ? performance.now() : Date.now();
  const normalized = normalizedTensor(image, inference.normalization);
  const scores: ProposalScores[] = [];
  try {
    for (const box of boxes)
      scores.push({ box, logits: await proposalScores(model, normalized, box, inputSize) });
  } finally {
    normalized.dispose();
  }
  const probabilities = aggregateProposals(whole.probabilities, scores, width, height, model.numClasses);
  const network = (typeof performance !== 'undefined' ? performance.now() : Date.now()) - start;
  return {
    ...whole,
    probabilities,
    labels: argmaxLabels(probabilities, model.numClasses),
    timings: { ...whole.timings, network: whole.timings.network + network },
    boxes,
  };
}
