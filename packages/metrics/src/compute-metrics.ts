/** Scores of one class. NaN where the ratio is 0/0 (see README, "Absent classes"). */
export interface ClassMetrics {
  /** TP / (TP + FP + FN): 0 for a class predicted but absent from the ground truth. */
  iou: number;
  /** TP / ground-truth pixels (recall), mmsegmentation's per-class "Acc": NaN when absent from the ground truth. */
  accuracy: number;
  /** 2 TP / (ground-truth + predicted pixels), equal to F1. */
  dice: number;
  /** TP / predicted pixels: NaN when never predicted. */
  precision: number;
  /** Labelled pixels of this class (row sum). */
  gtPixels: number;
  /** Labelled pixels predicted as this class (column sum). */
  predictedPixels: number;
  /** Pixels of this class predicted as this class (diagonal). */
  correctPixels: number;
}

/** What `ConfusionMatrix.compute()` returns; fractions in 0..1, not percentages. */
export interface SegmentationMetrics {
  /** Correct pixels / labelled pixels (mmsegmentation "aAcc", the VOC devkit's overall accuracy). */
  pixelAccuracy: number;
  /** Mean of the per-class accuracies that are defined ("mAcc"). */
  meanAccuracy: number;
  /** Mean of the per-class IoUs that are defined ("mIoU"). */
  meanIoU: number;
  /** Sum over classes present in the ground truth of (gtPixels / labelledPixels) x IoU. */
  fwIoU: number;
  /** Mean of the per-class Dice scores that are defined ("mDice"). */
  meanDice: number;
  /** Indexed by class. */
  perClass: ClassMetrics[];
  /** Pixels counted (target not the ignore index). */
  labelledPixels: number;
  /** Pixels skipped because their target is the ignore index. */
  ignoredPixels: number;
}

/** Ratio with 0/0 as NaN, so an undefined score is never mistaken for a 0 or a 1. */
function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? numerator / denominator : Number.NaN;
}

/** numpy's nanmean: the mean of the values that are not NaN, NaN when there are none. */
export function nanMean(values: readonly number[]): number {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    sum += v;
    count++;
  }
  return count > 0 ? sum / count : Number.NaN;
}

/**
 * The metrics from a row-major n x n matrix of counts (rows ground truth, columns prediction).
 * Counts are integers below 2^53, so every sum here is exact.
 */
export function computeMetrics(
  counts: Float64Array,
  numClasses: number,
  ignoredPixels: number,
): SegmentationMetrics {
  const n = numClasses;
  const gtPixels = new Float64Array(n);
  const predictedPixels = new Float64Array(n);
  let labelledPixels = 0;
  let correctTotal = 0;
  for (let t = 0; t < n; t++) {
    const row = t * n;
    for (let p = 0; p < n; p++) {
      const c = counts[row + p]!;
      gtPixels[t] += c;
      predictedPixels[p] += c;
    }
    labelledPixels += gtPixels[t]!;
    correctTotal += counts[row + t]!;
  }

  const perClass: ClassMetrics[] = [];
  let fwIoU = 0;
  for (let c = 0; c < n; c++) {
    const correct = counts[c * n + c]!;
    const gt = gtPixels[c]!;
    const predicted = predictedPixels[c]!;
    const iou = ratio(correct, gt + predicted - correct);
    if (gt > 0) fwIoU += (gt / labelledPixels) * iou;
    perClass.push({
      iou,
      accuracy: ratio(correct, gt),
      dice: ratio(2 * correct, gt + predicted),
      precision: ratio(correct, predicted),
      gtPixels: gt,
      predictedPixels: predicted,
      correctPixels: correct,
    });
  }

  return {
    pixelAccuracy: ratio(correctTotal, labelledPixels),
    meanAccuracy: nanMean(perClass.map((m) => m.accuracy)),
    meanIoU: nanMean(perClass.map((m) => m.iou)),
    fwIoU: labelledPixels > 0 ? fwIoU : Number.NaN,
    meanDice: nanMean(perClass.map((m) => m.dice)),
    perClass,
    labelledPixels,
    ignoredPixels,
  };
}
