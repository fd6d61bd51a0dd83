import { ConfusionMatrix, type ConfusionMatrixJSON } from '@semseg/metrics';

/**
 * The mIoU of predicting the most frequent class everywhere, from a confusion matrix's ground
 * truth: the "chance" level a trained model must beat. Classes absent from the ground truth are
 * left out, as in mIoU.
 */
export function majorityClassMiou(json: ConfusionMatrixJSON): number {
  const matrix = ConfusionMatrix.fromJSON(json);
  const n = matrix.numClasses;
  const counts = matrix.getCounts();
  const gt = new Float64Array(n);
  for (let t = 0; t < n; t++) for (let p = 0; p < n; p++) gt[t]! += counts[t * n + p];
  const total = gt.reduce((a, b) => a + b, 0);
  if (total === 0) return Number.NaN;
  let majority = 0;
  for (let c = 1; c < n; c++) if (gt[c]! > gt[majority]!) majority = c;
  const present = gt.filter((g) => g > 0).length;
  // The majority class: TP = its pixels, FP = every other labelled pixel, so IoU = gt / total.
  return gt[majority]! / total / present;
}
