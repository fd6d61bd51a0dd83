import { type TrainPreset, registerTrainPreset } from '@semseg/core';

/**
 * The FCN reference solvers (fcn.berkeleyvision.org, the voc-fcn solver.prototxt files): SGD, momentum
 * 0.99, weight decay 5e-4, fixed lr, 100,000 iterations, batch 1 on whole images, and a loss
 * summed over pixels (`loss_param { normalize: false }`). With `lossReduction: 'sum'` the solvers'
 * learning rates and decay apply literally: each step is v = 0.99 v + lr (g_sum + 5e-4 w). (A mean
 * loss would need lr x pixels and decay / pixels to take the same step.)
 */
const FCN_SOLVER = { type: 'sgd', momentum: 0.99, weightDecay: 5e-4 } as const;

function fcnPreset(
  variant: '32s' | '16s' | '8s',
  solverDir: string,
  baseLr: number,
  extra: Partial<TrainPreset> = {},
): TrainPreset {
  const name = `${solverDir.replace(/^voc-/, '')}-voc`;
  return {
    name,
    model: `fcn${variant}`,
    modelConfig: { numClasses: 21 },
    source: `the FCN reference (fcn.berkeleyvision.org) ${solverDir}/solver.prototxt and train.prototxt`,
    notes:
      `base_lr ${baseLr} on the loss summed over pixels, batch 1, momentum 0.99, weight decay 5e-4, ` +
      'fixed lr, 100,000 iterations, biases lr x2 and undecayed; whole images, no augmentation ' +
      "(padded to 500x500 with ignored labels). The reference trains on SBD's 8,498-image train " +
      'split; the SegmentationClassAug layout ships train_aug (10,582 images), used here',
    optimizer: FCN_SOLVER,
    schedule: { policy: 'fixed', baseLr },
    lossReduction: 'sum',
    steps: 100_000,
    batchSize: 1,
    crop: [500, 500],
    scaleRange: [1, 1],
    flipProbability: 0,
    trainSplit: 'train_aug',
    ...extra,
  };
}

export const FCN_PRESETS: readonly TrainPreset[] = [
  fcnPreset('32s', 'voc-fcn32s', 1e-10),
  fcnPreset('16s', 'voc-fcn16s', 1e-12, { initFrom: 'fcn32s-voc' }),
  fcnPreset('8s', 'voc-fcn8s', 1e-14, { initFrom: 'fcn16s-voc' }),
  fcnPreset('8s', 'voc-fcn8s-atonce', 1e-10, { modelConfig: { numClasses: 21, atOnce: true } }),
];

/** Registers the FCN reference recipes (done on import). */
export function registerFcnPresets(): void {
  for (const preset of FCN_PRESETS) registerTrainPreset(preset);
}
