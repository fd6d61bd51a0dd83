import { IMAGENET_NORMALIZATION, type Module, type WeightNameMap } from '@semseg/core';
import { torchNameMap } from '@semseg/layers';
import type { ResNet } from './resnet.js';

export interface ResNetWeightMapOptions {
  /** Where the ResNet sits in `root` (`backbone.` in a segmentation model); default '' (root is it). */
  prefix?: string;
  /** What replaces `prefix` in the file's keys; '' for torchvision's classification files. */
  filePrefix?: string;
}

/**
 * The name map of torchvision's ResNet files (`resnet50-*.pth`): identity names, conv layouts,
 * `fc` as linear-as-conv; a file's `fc.*` is ignored when our ResNet has no classifier, and
 * `num_batches_tracked` always.
 */
export function resnetWeightMap(
  root: Module,
  resnet: ResNet,
  options: ResNetWeightMapOptions = {},
): WeightNameMap {
  const prefix = options.prefix ?? '';
  const filePrefix = options.filePrefix ?? '';
  return torchNameMap(root, {
    description: `torchvision's resnet${resnet.config.depth} state_dict`,
    normalization: IMAGENET_NORMALIZATION,
    prefix,
    filePrefix,
    linear: [`${prefix}fc`],
    ...(resnet.fc ? {} : { ignore: (key: string) => key.startsWith(`${filePrefix}fc.`) }),
  });
}
