import { presets, runDenseCrf, unaryFromProbabilities } from '@semseg/crf';
import type { CrfOption, CrfRefined, Prediction, RgbImage } from '../types.js';

/** Refines a prediction with the fully connected CRF (Krähenbühl & Koltun), as DeepLab does. */
export function refineWithCrf(
  image: RgbImage,
  prediction: Prediction,
  settings: CrfOption = 'deeplabV1',
): CrfRefined {
  const start = typeof performance !== 'undefined' ? performance.now() : Date.now();
  const unary = unaryFromProbabilities(prediction.probabilities, prediction.numClasses);
  const { q, labels } = runDenseCrf(
    { width: image.width, height: image.height, labels: prediction.numClasses, unary, rgb: image.data },
    settings,
  );
  const milliseconds = (typeof performance !== 'undefined' ? performance.now() : Date.now()) - start;
  return { q, labels, milliseconds };
}

export const CRF_PRESETS = presets;
