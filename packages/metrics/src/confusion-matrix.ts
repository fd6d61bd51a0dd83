import { type SegmentationMetrics, computeMetrics } from './compute-metrics.js';
import {
  type PendingLayout,
  countAny,
  countInt32Uint8,
  countUint8,
  laneSum,
  pendingLayout,
  pendingLength,
} from './count-kernels.js';
import { MetricsError } from './errors.js';
import { type LabelArray, assertLabelArray } from './label-array.js';
import {
  CONFUSION_MATRIX_FORMAT,
  CONFUSION_MATRIX_VERSION,
  type ConfusionMatrixJSON,
  MAX_CLASSES,
  parseConfusionMatrixJSON,
} from './serialization.js';

export interface ConfusionMatrixOptions {
  /** Target value whose pixels are skipped (VOC's void border). `null`: every target must be a class. Default 255. */
  ignoreIndex?: number | null;
}

const UINT32_MAX = 0xffffffff;

/**
 * A streaming confusion matrix for semantic segmentation: rows are ground-truth classes, columns
 * predicted classes. Feed it (prediction, target) label maps with `update`, combine workers'
 * matrices with `merge`, save and resume with `toJSON` / `fromJSON`, and read the
 * mmsegmentation / VOC devkit metrics with `compute`.
 *
 * Counts: each update lands in a Uint32 scratch histogram (integer increments, a few hundred
 * bytes for 21 classes, so it stays in L1), which is folded into Float64 totals before it could
 * wrap (every 2^32 - 1 pixels) and whenever the matrix is read. Float64 holds integers exactly up
 * to 2^53 (9e15 pixels, about 3e7 passes over VOC 2012 val), where Uint32 totals would wrap after
 * about 4 Cityscapes val passes.
 */
export class ConfusionMatrix {
  readonly numClasses: number;
  readonly ignoreIndex: number | null;
  /** Most pixels the Uint32 scratch may hold before it is folded into the totals (tests lower it). */
  protected pendingPixelLimit = UINT32_MAX;
  private readonly totals: Float64Array;
  private ignoredTotal = 0;
  private readonly layout: PendingLayout;
  private readonly pending: Uint32Array;
  private pendingPixels = 0;

  constructor(numClasses: number, options: ConfusionMatrixOptions = {}) {
    if (
      typeof numClasses !== 'number' ||
      !Number.isInteger(numClasses) ||
      numClasses < 1 ||
      numClasses > MAX_CLASSES
    ) {
      throw new MetricsError(
        'E_ARGUMENT',
        `ConfusionMatrix: numClasses must be an integer in 1..${MAX_CLASSES}, got ${String(numClasses)}`,
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new MetricsError(
        'E_ARGUMENT',
        `ConfusionMatrix: options must be an object, got ${String(options)}`,
      );
    }
    const ignoreIndex = options.ignoreIndex === undefined ? 255 : options.ignoreIndex;
    if (ignoreIndex !== null && (typeof ignoreIndex !== 'number' || !Number.isSafeInteger(ignoreIndex))) {
      throw new MetricsError(
        'E_ARGUMENT',
        `ConfusionMatrix: options.ignoreIndex must be an integer or null, got ${String(ignoreIndex)}`,
      );
    }
    if (ignoreIndex !== null && ignoreIndex >= 0 && ignoreIndex < numClasses) {
      throw new MetricsError(
        'E_ARGUMENT',
        `ConfusionMatrix: options.ignoreIndex ${ignoreIndex} is a class index (0..${numClasses - 1}); ` +
          'pass an ignore index outside the classes (e.g. 255, or 65535 for Uint16 labels) or null',
      );
    }
    this.numClasses = numClasses;
    this.ignoreIndex = ignoreIndex;
    this.totals = new Float64Array(numClasses * numClasses);
    this.layout = pendingLayout(numClasses, ignoreIndex);
    this.pending = new Uint32Array(pendingLength(this.layout));
  }

  /**
   * Counts one image (`pred` and `target` typed arrays of equal length) or a batch (two arrays of
   * typed arrays, paired by position). Pixels whose target is the ignore index are skipped; every
   * prediction must be a class index, wherever it is. On a bad input nothing of the call is
   * counted and a MetricsError names the argument, the value and its position.
   */
  update(pred: LabelArray | readonly LabelArray[], target: LabelArray | readonly LabelArray[]): this {
    const { preds, targets, batched } = pairImages(pred, target);
    let callPixels = 0;
    for (const image of targets) callPixels += image.length;
    if (this.pendingPixels + callPixels > this.pendingPixelLimit) this.flush();
    if (callPixels <= this.pendingPixelLimit) {
      for (let k = 0; k < preds.length; k++) {
        this.count(preds[k]!, targets[k]!, 0, targets[k]!.length, 1);
        if (this.hasBadLabels()) {
          for (let j = k; j >= 0; j--) this.count(preds[j]!, targets[j]!, 0, targets[j]!.length, -1);
          throw badLabelError(
            preds[k]!,
            targets[k]!,
            batched ? k : undefined,
            this.numClasses,
            this.ignoreIndex,
          );
        }
      }
      this.pendingPixels += callPixels;
    } else {
      this.updateInSegments(preds, targets, batched);
    }
    return this;
  }

  /** Adds another matrix's counts (e.g. from a worker) into this one. */
  merge(other: ConfusionMatrix): this {
    if (!(other instanceof ConfusionMatrix)) {
      throw new MetricsError(
        'E_MERGE',
        'ConfusionMatrix.merge: other must be a ConfusionMatrix (use fromJSON first)',
      );
    }
    if (other.numClasses !== this.numClasses) {
      throw new MetricsError(
        'E_MERGE',
        `ConfusionMatrix.merge: other has ${other.numClasses} classes, this matrix has ${this.numClasses}`,
      );
    }
    if (other.ignoreIndex !== this.ignoreIndex) {
      throw new MetricsError(
        'E_MERGE',
        `ConfusionMatrix.merge: other ignores ${other.ignoreIndex}, this matrix ignores ${this.ignoreIndex}`,
      );
    }
    other.flush();
    this.flush();
    // Each entry is read before it is written, so m.merge(m) doubles m.
    for (let i = 0; i < this.totals.length; i++) this.totals[i] += other.totals[i]!;
    this.ignoredTotal += other.ignoredTotal;
    return this;
  }

  /** Forgets every count. */
  reset(): this {
    this.totals.fill(0);
    this.pending.fill(0);
    this.pendingPixels = 0;
    this.ignoredTotal = 0;
    return this;
  }

  /** Pixel accuracy, mean accuracy, mIoU, fwIoU, mDice and the per-class scores. */
  compute(): SegmentationMetrics {
    this.flush();
    return computeMetrics(this.totals, this.numClasses, this.ignoredTotal);
  }

  /** A copy of the counts, row-major: entry `target * numClasses + prediction`. */
  getCounts(): Float64Array {
    this.flush();
    return this.totals.slice();
  }

  /** Pixels of ground-truth class `target` predicted as `prediction`. */
  get(target: number, prediction: number): number {
    for (const [name, value] of [
      ['target', target],
      ['prediction', prediction],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value >= this.numClasses) {
        throw new MetricsError(
          'E_ARGUMENT',
          `ConfusionMatrix.get: ${name} must be a class index in 0..${this.numClasses - 1}, got ${value}`,
        );
      }
    }
    this.flush();
    return this.totals[target * this.numClasses + prediction]!;
  }

  /** Pixels counted so far (target a class). */
  get labelledPixels(): number {
    this.flush();
    let sum = 0;
    for (let i = 0; i < this.totals.length; i++) sum += this.totals[i]!;
    return sum;
  }

  /** Pixels skipped so far because their target is the ignore index. */
  get ignoredPixels(): number {
    this.flush();
    return this.ignoredTotal;
  }

  clone(): ConfusionMatrix {
    return ConfusionMatrix.fromJSON(this.toJSON());
  }

  /** A versioned, JSON-safe snapshot (counts stay exact: they are integers below 2^53). */
  toJSON(): ConfusionMatrixJSON {
    this.flush();
    return {
      format: CONFUSION_MATRIX_FORMAT,
      version: CONFUSION_MATRIX_VERSION,
      numClasses: this.numClasses,
      ignoreIndex: this.ignoreIndex,
      ignoredPixels: this.ignoredTotal,
      counts: Array.from(this.totals),
    };
  }

  /** Rebuilds a matrix from `toJSON()` output (the object or its JSON text), validating every field. */
  static fromJSON(json: unknown): ConfusionMatrix {
    const data = parseConfusionMatrixJSON(json);
    const matrix = new ConfusionMatrix(data.numClasses, { ignoreIndex: data.ignoreIndex });
    matrix.totals.set(data.counts);
    matrix.ignoredTotal = data.ignoredPixels;
    return matrix;
  }

  private count(pred: LabelArray, target: LabelArray, start: number, end: number, delta: number): void {
    const { pending, layout } = this;
    if (pred instanceof Uint8Array && target instanceof Uint8Array) {
      countUint8(pred, target, start, end, pending, layout, delta);
    } else if (pred instanceof Int32Array && target instanceof Uint8Array) {
      countInt32Uint8(pred, target, start, end, pending, layout, delta);
    } else {
      countAny(pred, target, start, end, pending, layout, delta);
    }
  }

  /** Whether the scratch holds an out-of-range prediction or an invalid target. */
  private hasBadLabels(): boolean {
    const { pending, numClasses, layout } = this;
    const { rowWidth, badRowOffset } = layout;
    for (let row = 0; row <= numClasses + 1; row++) {
      if (laneSum(pending, layout, row * rowWidth + numClasses) !== 0) return true;
    }
    for (let p = 0; p < numClasses; p++) if (laneSum(pending, layout, badRowOffset + p) !== 0) return true;
    return false;
  }

  /** Folds the Uint32 scratch into the Float64 totals (the scratch never holds bad labels here). */
  private flush(): void {
    if (this.pendingPixels === 0) return;
    const { pending, totals, numClasses, layout } = this;
    const { rowWidth, ignoreRowOffset } = layout;
    for (let t = 0; t < numClasses; t++) {
      const from = t * rowWidth;
      const to = t * numClasses;
      for (let p = 0; p < numClasses; p++) totals[to + p] += laneSum(pending, layout, from + p);
    }
    for (let p = 0; p < numClasses; p++) this.ignoredTotal += laneSum(pending, layout, ignoreRowOffset + p);
    pending.fill(0);
    this.pendingPixels = 0;
  }

  /**
   * A call of more pixels than the scratch may hold: count it in segments, folding between them,
   * and restore a snapshot of the totals if a bad label turns up.
   */
  private updateInSegments(
    preds: readonly LabelArray[],
    targets: readonly LabelArray[],
    batched: boolean,
  ): void {
    this.flush();
    const savedTotals = this.totals.slice();
    const savedIgnored = this.ignoredTotal;
    const segment = this.pendingPixelLimit;
    for (let k = 0; k < preds.length; k++) {
      const length = targets[k]!.length;
      for (let start = 0; start < length; start += segment) {
        const end = Math.min(length, start + segment);
        if (this.pendingPixels + (end - start) > this.pendingPixelLimit) this.flush();
        this.count(preds[k]!, targets[k]!, start, end, 1);
        this.pendingPixels += end - start;
        if (this.hasBadLabels()) {
          this.totals.set(savedTotals);
          this.ignoredTotal = savedIgnored;
          this.pending.fill(0);
          this.pendingPixels = 0;
          throw badLabelError(
            preds[k]!,
            targets[k]!,
            batched ? k : undefined,
            this.numClasses,
            this.ignoreIndex,
          );
        }
      }
    }
  }
}

interface ImagePairs {
  preds: readonly LabelArray[];
  targets: readonly LabelArray[];
  batched: boolean;
}

/** Checks the shapes of an update's arguments and returns them as lists of images. */
function pairImages(pred: unknown, target: unknown): ImagePairs {
  const context = 'ConfusionMatrix.update';
  // A plain array of numbers is one image in the wrong container, not a batch.
  for (const [name, value] of [
    ['pred', pred],
    ['target', target],
  ] as const) {
    if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'number')
      assertLabelArray(context, name, value);
  }
  if (Array.isArray(pred) !== Array.isArray(target)) {
    const batch = Array.isArray(pred) ? 'pred' : 'target';
    throw new MetricsError(
      'E_ARGUMENT',
      `${context}: ${batch} is an array of images but ${batch === 'pred' ? 'target' : 'pred'} is not; ` +
        'pass one typed array each for one image or one array of typed arrays each for a batch',
    );
  }
  if (Array.isArray(pred) && Array.isArray(target)) {
    if (pred.length !== target.length) {
      throw new MetricsError(
        'E_LENGTH',
        `${context}: pred has ${pred.length} images but target has ${target.length}`,
      );
    }
    for (let k = 0; k < pred.length; k++) {
      assertLabelArray(context, `pred[${k}]`, pred[k]);
      assertLabelArray(context, `target[${k}]`, target[k]);
      if (pred[k].length !== target[k].length) {
        throw new MetricsError(
          'E_LENGTH',
          `${context}: pred[${k}] has ${pred[k].length} pixels but target[${k}] has ${target[k].length}`,
        );
      }
    }
    return { preds: pred as LabelArray[], targets: target as LabelArray[], batched: true };
  }
  assertLabelArray(context, 'pred', pred);
  assertLabelArray(context, 'target', target);
  if (pred.length !== target.length) {
    throw new MetricsError(
      'E_LENGTH',
      `${context}: pred has ${pred.length} pixels but target has ${target.length}`,
    );
  }
  return { preds: [pred], targets: [target], batched: false };
}

/** Finds the first bad pixel of an image (the slow path, taken only on error) and describes it. */
function badLabelError(
  pred: LabelArray,
  target: LabelArray,
  image: number | undefined,
  numClasses: number,
  ignoreIndex: number | null,
): MetricsError {
  let firstTarget = -1;
  let badTargets = 0;
  let firstPred = -1;
  let badPreds = 0;
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!;
    if (t !== ignoreIndex && !(t >= 0 && t < numClasses)) {
      if (firstTarget < 0) firstTarget = i;
      badTargets++;
    }
    const p = pred[i]!;
    if (!(p >= 0 && p < numClasses)) {
      if (firstPred < 0) firstPred = i;
      badPreds++;
    }
  }
  const classes = `0..${numClasses - 1}`;
  const at = (name: string, index: number) =>
    image === undefined ? `${name}[${index}]` : `${name}[${image}][${index}]`;
  const pixels = (count: number) => (count === 1 ? '1 pixel' : `${count} pixels`);
  const where = image === undefined ? 'this image' : `image ${image}`;
  if (firstTarget >= 0 && (firstPred < 0 || firstTarget <= firstPred)) {
    const value = target[firstTarget]!;
    const ignore =
      ignoreIndex === null ? 'and no ignore index is set' : `nor the ignore index (${ignoreIndex})`;
    const neither = ignoreIndex === null ? 'is not a class index' : 'is neither a class index';
    return new MetricsError(
      'E_TARGET',
      `ConfusionMatrix.update: ${at('target', firstTarget)} = ${value} ${neither} (${classes}) ${ignore}; ` +
        `${pixels(badTargets)} of ${where} have such targets. Nothing of this call was counted.`,
      { argument: 'target', value, index: firstTarget, image, count: badTargets },
    );
  }
  const value = pred[firstPred]!;
  return new MetricsError(
    'E_PREDICTION',
    `ConfusionMatrix.update: ${at('pred', firstPred)} = ${value} is not a class index (${classes}); ` +
      `${pixels(badPreds)} of ${where} have such predictions (checked at ignored pixels too). Nothing of this call was counted.`,
    { argument: 'pred', value, index: firstPred, image, count: badPreds },
  );
}
