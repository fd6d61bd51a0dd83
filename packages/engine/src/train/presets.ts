import type { OptimizerConfig } from './optimizer.js';
import type { LrSchedule } from './schedule.js';

/** A paper's training recipe, with where it comes from. */
export interface TrainPreset {
  name: string;
  model: string;
  modelConfig: Record<string, unknown>;
  source: string;
  notes: string;
  optimizer: OptimizerConfig;
  schedule: Omit<LrSchedule, 'maxSteps'>;
  steps: number;
  batchSize: number;
  crop: [number, number];
  scaleRange: [number, number];
  flipProbability: number;
  /** The preset to initialise from (staged training), by its output folder's model name. */
  initFrom?: string;
}

/**
 * The FCN solvers sum the loss over pixels with batch 1 (`normalize: false`), with lr 1e-10,
 * 1e-12 and 1e-14 and momentum 0.99. Our loss is the mean over valid pixels, so the gradient is
 * smaller by the number of pixels: the same step takes lr x pixels. A VOC image has about
 * 500 x 375 = 187,500 pixels, hence 1e-10 -> 1.875e-5.
 */
export const VOC_PIXELS_PER_IMAGE = 500 * 375;

const FCN_SOLVER: OptimizerConfig = { type: 'sgd', momentum: 0.99, weightDecay: 5e-4 };

function fcnPreset(
  name: string,
  variant: '32s' | '16s' | '8s',
  solverDir: string,
  sumLr: number,
  extra: Partial<TrainPreset> = {},
): TrainPreset {
  return {
    name,
    model: `fcn${variant}`,
    modelConfig: { numClasses: 21 },
    source: `the FCN reference (fcn.berkeleyvision.org) ${solverDir}/solver.prototxt`,
    notes: `base_lr ${sumLr} on a summed loss, batch 1, momentum 0.99, weight decay 5e-4, fixed lr, 100,000 iterations; lr x ${VOC_PIXELS_PER_IMAGE} for our mean loss; no augmentation (whole images, padded to 500x500 with ignored labels)`,
    optimizer: FCN_SOLVER,
    schedule: { policy: 'fixed', baseLr: sumLr * VOC_PIXELS_PER_IMAGE },
    steps: 100_000,
    batchSize: 1,
    crop: [500, 500],
    scaleRange: [1, 1],
    flipProbability: 0,
    ...extra,
  };
}

export const TRAIN_PRESETS: Record<string, TrainPreset> = {
  'fcn32s-voc': fcnPreset('fcn32s-voc', '32s', 'voc-fcn32s', 1e-10),
  'fcn16s-voc': fcnPreset('fcn16s-voc', '16s', 'voc-fcn16s', 1e-12, { initFrom: 'fcn32s' }),
  'fcn8s-voc': fcnPreset('fcn8s-voc', '8s', 'voc-fcn8s', 1e-14, { initFrom: 'fcn16s' }),
  'fcn8s-atonce-voc': fcnPreset('fcn8s-atonce-voc', '8s', 'voc-fcn8s-atonce', 1e-10, {
    modelConfig: { numClasses: 21, atOnce: true },
  }),
};
