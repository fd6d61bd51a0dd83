import { type ArchitectureSpec, ConfigError, listModels } from '@semseg/core';
import { type PresetName, presets, runDenseCrf, unaryFromProbabilities } from '@semseg/crf';
import type { CrfOption, CrfRefined, Prediction, RgbImage } from '../types.js';

/** Refines a prediction with the fully connected CRF (Krähenbühl & Koltun), as DeepLab does. */
export function refineWithCrf(
  image: RgbImage,
  prediction: Prediction,
  settings: CrfOption = DEFAULT_CRF_PRESET,
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

/**
 * The one default CRF everywhere (`semseg crf`, `--crf`, `--eval-crf`, the demo, the page) when
 * neither the user nor the model names one: DeepLab v1's, the paper that made the dense CRF the
 * standard post-processing of a segmentation network.
 */
export const DEFAULT_CRF_PRESET: PresetName = 'deeplabV1';

/** The CRF preset a checkpoint's architecture declares (its paper's), else the default. */
export function crfPresetFor(architecture: ArchitectureSpec): PresetName {
  const definition = listModels().find((m) => m.name === architecture.name);
  const declared = definition?.crfPreset;
  const name = typeof declared === 'function' ? declared(architecture.config) : declared;
  if (name === undefined) return DEFAULT_CRF_PRESET;
  if (!(name in presets))
    throw new ConfigError(
      `model '${architecture.name}' declares CRF preset '${name}', which @semseg/crf does not have`,
    );
  return name as PresetName;
}
