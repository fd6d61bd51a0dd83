import { InputError, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type InferenceModel, type NetworkPass, runPass } from './network-pass.js';

/** A size at which any valid-padded model of interest has a positive output (to read its margin). */
const PROBE = 2048;

export interface OverlapTileOptions {
  /** Input tile [height, width] (the paper's 572 x 572). Default: one tile for the whole image. */
  tile?: readonly [number, number];
  /**
   * Tiles start on multiples of this many input pixels, so that every tile's pooling windows fall
   * where a pass over the whole (padded) image puts them and tiling changes no value. Exact for
   * models whose total stride divides it (U-Net: 2^depth, 16). A tile's output is then cut to a
   * multiple of it (388 -> 384) and the next tile overlaps the rest. Default 32.
   */
  alignment?: number;
  /** Tiles per forward pass. Default 4. */
  batchSize?: number;
}

/** The model's output is smaller than its input (it declares `outputSize` and loses a margin). */
export function shrinksInput(model: SegmentationModel): boolean {
  if (!model.outputSize) return false;
  const [oh, ow] = model.outputSize([PROBE, PROBE]);
  return oh < PROBE || ow < PROBE;
}

/** Index of position `j` (any integer) in the mirror image of `[0, n)` (edge not repeated). */
function reflectIndex(j: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const k = ((j % period) + period) % period;
  return k < n ? k : period - k;
}

/** How one axis is cut: where the mirrored input starts, the tiles' output starts and lengths. */
interface AxisPlan {
  tileInput: number;
  tileOutput: number;
  /** Mirrored pixels before the image. */
  before: number;
  /** Length of the mirror-padded input. */
  paddedLength: number;
  /** Output (= image) coordinate where each tile's output starts, and how much of it is kept. */
  starts: number[];
  kept: number[];
}

function planAxis(
  size: number,
  requestedTile: number | undefined,
  outputLength: (input: number) => number,
  alignment: number,
): AxisPlan {
  const margin = PROBE - outputLength(PROBE);
  // One tile: the smallest input whose output covers the image.
  let tileInput = requestedTile ?? size + margin;
  if (requestedTile === undefined) while (outputLength(tileInput) < size) tileInput++;
  const tileOutput = outputLength(tileInput);
  if (tileOutput <= 0)
    throw new InputError(`a tile of ${tileInput} pixels leaves no output (margin ${margin})`);
  const before = Math.floor((tileInput - tileOutput) / 2);
  const step = tileOutput >= alignment ? tileOutput - (tileOutput % alignment) : tileOutput;
  const starts = [0];
  while (starts.at(-1)! + tileOutput < size) starts.push(starts.at(-1)! + step);
  const kept = starts.map((start, i) => Math.min(starts[i + 1] ?? size, size) - start);
  return { tileInput, tileOutput, before, paddedLength: starts.at(-1)! + tileInput, starts, kept };
}

/** Gathers rows (axis 1) or columns (axis 2) of the mirror-padded input. */
function mirrorPad(x: tf.Tensor4D, axis: 1 | 2, plan: AxisPlan): tf.Tensor4D {
  const size = x.shape[axis];
  const indices = Int32Array.from({ length: plan.paddedLength }, (_, i) =>
    reflectIndex(i - plan.before, size),
  );
  return tf.gather(x, tf.tensor1d(indices, 'int32'), axis);
}

/**
 * The overlap-tile strategy (Ronneberger et al. 2015, Fig. 2) for models whose output is smaller
 * than their input: the image's missing context is extrapolated by mirroring, tiles of the input
 * overlap by the model's margin, and their outputs join without seams into logits [1, H, W, C] of
 * the image's size. Everything stays on the device.
 */
export function overlapTileLogits(
  model: SegmentationModel,
  x: tf.Tensor4D,
  options: OverlapTileOptions = {},
): tf.Tensor4D {
  return runPass(overlapTilePass(model, x, options), model);
}

/** `overlapTileLogits` as a network pass (each batch of tiles is yielded for its logits). */
export function* overlapTilePass(
  model: InferenceModel,
  x: tf.Tensor4D,
  options: OverlapTileOptions = {},
): NetworkPass<tf.Tensor4D> {
  const outputSize = model.outputSize?.bind(model);
  if (!outputSize) throw new InputError('overlap-tile inference needs a model that declares outputSize');
  const [n, height, width, channels] = x.shape;
  if (n !== 1) throw new InputError(`overlap-tile inference takes one image at a time, got a batch of ${n}`);
  const alignment = options.alignment ?? 32;
  const batchSize = options.batchSize ?? 4;
  const rows = planAxis(height, options.tile?.[0], (s) => outputSize([s, PROBE])[0], alignment);
  const cols = planAxis(width, options.tile?.[1], (s) => outputSize([PROBE, s])[1], alignment);
  // Explicit disposal rather than one tidy: the pass yields to the network between batches.
  const padded = tf.tidy(() => mirrorPad(mirrorPad(x, 1, rows), 2, cols));
  const pieces = new Map<string, tf.Tensor4D>();
  try {
    const tiles: Array<[number, number]> = [];
    rows.starts.forEach((_, i) => cols.starts.forEach((_, j) => tiles.push([i, j])));
    for (let b = 0; b < tiles.length; b += batchSize) {
      const group = tiles.slice(b, b + batchSize);
      const batch = tf.tidy(() => {
        const inputs = group.map(([i, j]) =>
          tf.slice(
            padded,
            [0, rows.starts[i]!, cols.starts[j]!, 0],
            [1, rows.tileInput, cols.tileInput, channels],
          ),
        );
        return tf.concat(inputs, 0) as tf.Tensor4D;
      });
      let logits: tf.Tensor4D;
      try {
        logits = yield batch;
      } finally {
        batch.dispose();
      }
      try {
        const [, oh, ow] = logits.shape;
        if (oh !== rows.tileOutput || ow !== cols.tileOutput) {
          throw new InputError(
            `the model gave ${oh}x${ow} for a ${rows.tileInput}x${cols.tileInput} tile; its outputSize says ${rows.tileOutput}x${cols.tileOutput}`,
          );
        }
        group.forEach(([i, j], g) => {
          pieces.set(`${i},${j}`, tf.slice(logits, [g, 0, 0, 0], [1, rows.kept[i]!, cols.kept[j]!, -1]));
        });
      } finally {
        logits.dispose();
      }
    }
    return tf.tidy(() => {
      const bands = rows.starts.map((_, i) =>
        tf.concat(
          cols.starts.map((_, j) => pieces.get(`${i},${j}`)!),
          2,
        ),
      );
      return tf.concat(bands, 1) as tf.Tensor4D;
    });
  } finally {
    padded.dispose();
    for (const piece of pieces.values()) piece.dispose();
  }
}
