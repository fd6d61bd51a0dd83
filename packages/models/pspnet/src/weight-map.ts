import type { Normalization, TensorSource, WeightNameMap } from '@semseg/core';

/**
 * Batch-norm modules by path: torchvision's ResNet (`bn1`..`bn3`, `downsample.1`) and the PSPNet
 * head as the reference's nn.Sequential indices (`ppm.features.{i}.2`, `cls.1`, `aux.1`). Every
 * other `weight` is a convolution's.
 */
const BATCH_NORM_MODULE = /(?:^|\.)(?:bn\d*|downsample\.1)$|^ppm\.features\.\d+\.2$|^(?:cls|aux)\.1$/;

const PYTORCH_BUFFER: Record<string, string> = {
  runningMean: 'running_mean',
  runningVar: 'running_var',
  numBatchesTracked: 'num_batches_tracked',
};

/** The PyTorch state_dict key and layout of one of our parameter or buffer names. */
export function pytorchSource(parameter: string): TensorSource | null {
  const dot = parameter.lastIndexOf('.');
  const module = parameter.slice(0, dot);
  const leaf = parameter.slice(dot + 1);
  const buffer = PYTORCH_BUFFER[leaf];
  if (buffer) return { key: `${module}.${buffer}`, layout: 'same' };
  const conv = leaf === 'weight' && !BATCH_NORM_MODULE.test(module);
  return { key: parameter, layout: conv ? 'conv' : 'same' };
}

/**
 * PyTorch files of this architecture: a state_dict whose keys are our dotted names (torchvision's
 * ResNet under `backbone.`, the head as hszhao/semseg's `ppm`, `cls`, `aux`), conv weights OIHW,
 * batch-norm buffers under PyTorch's names. `num_batches_tracked` is not needed.
 */
export function pspnetWeightMap(description: string, normalization: Normalization): WeightNameMap {
  return {
    format: 'pytorch',
    description,
    source: pytorchSource,
    ignore: (key) => key.endsWith('.num_batches_tracked'),
    normalization,
  };
}
