import { type TrainPreset, registerTrainPreset } from '@semseg/core';

/** CamVid's training set (367 images) in batches of 3: 123 steps per epoch. */
const CAMVID_STEPS_PER_EPOCH = Math.ceil(367 / 3);

const SOURCE =
  'Jégou et al. 2017, Sec. 4.1 (RMSprop, lr 1e-3, exponential decay 0.995 per epoch, weight decay 1e-4, ' +
  '224x224 crops, batch 3, horizontal flips); SimJeg/FC-DenseNet config/FC-DenseNet103.py and train.py';

const NOTES =
  'The first stage of the paper (crops); the paper then fine-tunes on full images at batch 1 with lr 1e-4. ' +
  "Weight decay 2e-4 here: the authors' code adds 1e-4 * sum(w^2) to the loss (Lasagne's l2), whose " +
  'gradient is 2e-4 w, and our decay adds wd * w to the gradient. RMSprop alpha 0.9 and epsilon 1e-6 are ' +
  "Lasagne's rho and epsilon (it adds epsilon inside the square root). The 0.995 epoch decay becomes " +
  `0.995^(1/${CAMVID_STEPS_PER_EPOCH}) per step; 750 epochs as the released config (early stopping on ` +
  'validation IoU, patience 150, is not part of a preset).';

/** The paper's CamVid recipe for each FC-DenseNet. */
export function fcDenseNetPresets(): TrainPreset[] {
  return (['56', '67', '103'] as const).map((variant) => ({
    name: `fc-densenet${variant}-camvid`,
    model: `fc-densenet${variant}`,
    modelConfig: { numClasses: 11 },
    source: SOURCE,
    notes: NOTES,
    optimizer: { type: 'rmsprop', alpha: 0.9, epsilon: 1e-6, weightDecay: 2e-4 },
    schedule: { policy: 'exp', baseLr: 1e-3, gamma: 0.995 ** (1 / CAMVID_STEPS_PER_EPOCH) },
    lossReduction: 'mean',
    steps: 750 * CAMVID_STEPS_PER_EPOCH,
    batchSize: 3,
    crop: [224, 224],
    scaleRange: [1, 1],
    flipProbability: 0.5,
  }));
}

export function registerFcDenseNetPresets(): void {
  for (const preset of fcDenseNetPresets()) registerTrainPreset(preset);
}
