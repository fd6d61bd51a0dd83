import { InputError } from './errors.js';
import { requireAllFinite } from './validate.js';

export interface FromProbabilitiesOptions {
  /** Probabilities are clipped to [clip, 1] before the log (pydensecrf's default 1e-5). */
  clip?: number;
  /** Certainty in (0, 1]: p' = scale * p + (1 - scale) / labels, as pydensecrf's `scale`. */
  scale?: number;
}

/** U = -log(clip(p)) from softmax probabilities, N x labels row-major (pydensecrf's unary_from_softmax). */
export function unaryFromProbabilities(
  probabilities: Float32Array,
  labels: number,
  options: FromProbabilitiesOptions = {},
): Float32Array {
  if (!(probabilities instanceof Float32Array))
    throw new InputError('probabilities', 'must be a Float32Array');
  if (!Number.isInteger(labels) || labels < 2)
    throw new InputError('labels', `must be an integer >= 2, got ${labels}`);
  if (probabilities.length % labels !== 0) {
    throw new InputError(
      'probabilities',
      `has length ${probabilities.length}, not a multiple of ${labels} labels`,
    );
  }
  requireAllFinite('probabilities', probabilities, labels);
  const clip = options.clip ?? 1e-5;
  if (!(clip > 0 && clip <= 1)) throw new InputError('options.clip', `must be in (0, 1], got ${clip}`);
  const scale = options.scale;
  if (scale !== undefined && !(scale > 0 && scale <= 1)) {
    throw new InputError('options.scale', `must be in (0, 1], got ${scale}`);
  }
  const unary = new Float32Array(probabilities.length);
  for (let i = 0; i < unary.length; i++) {
    let p = probabilities[i];
    if (p < 0 || p > 1 + 1e-4)
      throw new InputError('probabilities', `holds ${p} at index ${i}; must be in [0, 1]`);
    if (scale !== undefined) p = scale * p + (1 - scale) / labels;
    unary[i] = -Math.log(Math.min(Math.max(p, clip), 1));
  }
  return unary;
}

export interface FromLabelsOptions {
  /** Probability given to the annotated label, in (0, 1); the rest is shared by the others. Default 0.5. */
  gtProb?: number;
  /**
   * pydensecrf's convention: 0 means "unsure" (uniform) and value v is label v - 1. Default false:
   * value v is label v, and 255 (the house "ignore" value) is unsure.
   */
  zeroUnsure?: boolean;
}

/** U from a label map (pydensecrf's unary_from_labels): N x labels row-major. */
export function unaryFromLabels(
  labelMap: Uint8Array,
  labels: number,
  options: FromLabelsOptions = {},
): Float32Array {
  if (!(labelMap instanceof Uint8Array)) throw new InputError('labelMap', 'must be a Uint8Array');
  if (!Number.isInteger(labels) || labels < 2)
    throw new InputError('labels', `must be an integer >= 2, got ${labels}`);
  const gtProb = options.gtProb ?? 0.5;
  if (!(gtProb > 0 && gtProb < 1)) throw new InputError('options.gtProb', `must be in (0, 1), got ${gtProb}`);
  const zeroUnsure = options.zeroUnsure ?? false;
  const other = Math.fround(-Math.log((1 - gtProb) / (labels - 1)));
  const annotated = Math.fround(-Math.log(gtProb));
  const unsure = Math.fround(-Math.log(1 / labels));
  const unary = new Float32Array(labelMap.length * labels);
  for (let i = 0; i < labelMap.length; i++) {
    const value = labelMap[i];
    const base = i * labels;
    const isUnsure = zeroUnsure ? value === 0 : value === 255;
    if (isUnsure) {
      unary.fill(unsure, base, base + labels);
      continue;
    }
    const label = zeroUnsure ? value - 1 : value;
    if (label >= labels) {
      throw new InputError('labelMap', `holds ${value} at pixel ${i}, which is not a label of ${labels}`);
    }
    unary.fill(other, base, base + labels);
    unary[base + label] = annotated;
  }
  return unary;
}
