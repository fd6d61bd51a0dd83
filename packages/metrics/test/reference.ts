/**
 * A deliberately slow, independent reference: metrics straight from the pixels, per class, with
 * no confusion matrix, written from the definitions (mmsegmentation's total_intersect_and_union,
 * the VOC devkit's VOCevalseg) rather than from the package's code.
 */
export interface ReferenceClass {
  tp: number;
  fp: number;
  fn: number;
  iou: number;
  accuracy: number;
  dice: number;
  precision: number;
}

export interface ReferenceMetrics {
  counts: number[][];
  ignored: number;
  pixelAccuracy: number;
  meanAccuracy: number;
  meanIoU: number;
  fwIoU: number;
  meanDice: number;
  perClass: ReferenceClass[];
}

export interface ImagePair {
  pred: ArrayLike<number>;
  target: ArrayLike<number>;
}

export function referenceMetrics(
  images: readonly ImagePair[],
  numClasses: number,
  ignoreIndex: number,
): ReferenceMetrics {
  const counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let ignored = 0;
  let labelled = 0;
  let correct = 0;
  const perClass: ReferenceClass[] = [];
  for (let c = 0; c < numClasses; c++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const { pred, target } of images) {
      for (let i = 0; i < target.length; i++) {
        if (target[i] === ignoreIndex) continue;
        const isTarget = target[i] === c;
        const isPred = pred[i] === c;
        if (isTarget && isPred) tp++;
        else if (isPred) fp++;
        else if (isTarget) fn++;
      }
    }
    const div = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);
    perClass.push({
      tp,
      fp,
      fn,
      iou: div(tp, tp + fp + fn),
      accuracy: div(tp, tp + fn),
      dice: div(2 * tp, 2 * tp + fp + fn),
      precision: div(tp, tp + fp),
    });
  }
  for (const { pred, target } of images) {
    for (let i = 0; i < target.length; i++) {
      if (target[i] === ignoreIndex) {
        ignored++;
        continue;
      }
      counts[target[i]!]![pred[i]!]!++;
      labelled++;
      if (target[i] === pred[i]) correct++;
    }
  }
  const mean = (values: number[]) => {
    const defined = values.filter((v) => !Number.isNaN(v));
    return defined.length === 0 ? Number.NaN : defined.reduce((a, b) => a + b, 0) / defined.length;
  };
  let fwIoU = 0;
  for (const m of perClass) {
    const frequency = (m.tp + m.fn) / labelled;
    if (m.tp + m.fn > 0) fwIoU += frequency * m.iou;
  }
  return {
    counts,
    ignored,
    pixelAccuracy: labelled === 0 ? Number.NaN : correct / labelled,
    meanAccuracy: mean(perClass.map((m) => m.accuracy)),
    meanIoU: mean(perClass.map((m) => m.iou)),
    fwIoU: labelled === 0 ? Number.NaN : fwIoU,
    meanDice: mean(perClass.map((m) => m.dice)),
    perClass,
  };
}

/** mulberry32, seeded: test data that is the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random labels: `ignoreRate` of targets are the ignore index; classes >= `presentClasses` never appear. */
export function randomImage(
  random: () => number,
  length: number,
  options: { numClasses: number; ignoreIndex: number; ignoreRate: number; presentClasses?: number },
): { pred: number[]; target: number[] } {
  const present = options.presentClasses ?? options.numClasses;
  const pred: number[] = [];
  const target: number[] = [];
  for (let i = 0; i < length; i++) {
    const t = random() < options.ignoreRate ? options.ignoreIndex : Math.floor(random() * present);
    // Mostly right, like a real model, so that the diagonal is not tiny.
    const p = random() < 0.6 && t !== options.ignoreIndex ? t : Math.floor(random() * present);
    target.push(t);
    pred.push(p);
  }
  return { pred, target };
}
