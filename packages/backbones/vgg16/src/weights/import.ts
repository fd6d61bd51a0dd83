import { CheckpointError, type StateDict } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { VGG16 } from '../vgg16.js';
import { kerasToVgg16 } from './convert.js';
import { type WeightsFormat, type WeightsSource, readWeightsSource } from './source.js';

export interface ImportReport {
  format: WeightsFormat;
  /** The file (or URL) the weights came from. */
  file: string;
  /** Parameters set from the weights. */
  loaded: string[];
  /** Parameters the weights do not cover (batch norm; fc6/fc7 from a no-top file), left as initialised. */
  notInSource: string[];
}

export async function importWeights(vgg: VGG16, source: WeightsSource): Promise<ImportReport> {
  const { weights, format, file } = await readWeightsSource(source);
  const { width, inChannels, fc } = vgg.config;
  if (width !== 1 || inChannels !== 3) {
    throw new CheckpointError(
      file,
      `ImageNet VGG16 weights need width 1 and 3 input channels (this network: width ${width}, ${inChannels} channels)`,
    );
  }
  const arrays = kerasToVgg16(weights, fc, file);
  const params = vgg.stateDict();
  const dict: StateDict = {};
  try {
    for (const [name, { data, shape }] of arrays) {
      const target = params[name];
      if (!target) throw new CheckpointError(file, `weight '${name}' has no place in this VGG16 (fc: ${fc})`);
      if (target.shape.join() !== shape.join()) {
        throw new CheckpointError(
          file,
          `weight '${name}' has shape [${shape}], this VGG16 needs [${target.shape}]`,
        );
      }
      dict[name] = tf.tensor(data, shape, 'float32');
    }
    vgg.loadStateDict(dict, { strict: false, source: file });
  } finally {
    tf.dispose(Object.values(dict));
  }
  const loaded = Object.keys(dict);
  const notInSource = Object.keys(params).filter((n) => !(n in dict));
  return { format, file, loaded, notInSource };
}
