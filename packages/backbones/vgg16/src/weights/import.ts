import {
  CAFFE_VGG_NORMALIZATION,
  CheckpointError,
  type Normalization,
  type StateDict,
  type WeightNameMap,
} from '@semseg/core';
import { type WeightFile, WeightsError, mapWeights } from '@semseg/weights';
import * as tf from '@tensorflow/tfjs-core';
import type { VGG16 } from '../vgg16.js';
import { type ImportedArrays, kerasToVgg16 } from './convert.js';
import { decimateBias, decimateKernel } from './decimate.js';
import { vggCaffeMap, vggTorchvisionMap } from './foreign-maps.js';
import { type WeightsFormat, type WeightsSource, readWeightsSource } from './source.js';

export interface ImportReport {
  format: WeightsFormat;
  /** The file (or URL) the weights came from. */
  file: string;
  /** Parameters set from the weights. */
  loaded: string[];
  /** Parameters the weights do not cover (batch norm; fc6/fc7 from a no-top file), left as initialised. */
  notInSource: string[];
  /** How the weights take images: Caffe and Keras BGR minus the mean, torchvision ImageNet mean/std. */
  normalization: Normalization;
}

function widthCheck(vgg: VGG16, file: string, fileFilters: number | undefined): void {
  const { width, inChannels } = vgg.config;
  const ours = vgg.stateDict()['conv1_1.weight']!.shape[3];
  if (inChannels !== 3 || (fileFilters !== undefined && fileFilters !== ours)) {
    throw new CheckpointError(
      file,
      `ImageNet VGG16 weights need width 1 and 3 input channels (this network: width ${width}, ${inChannels} channels, ${ours} conv1_1 filters; the file: ${fileFilters ?? '?'})`,
    );
  }
}

/** A Caffe or PyTorch file through its name map; fc6/fc7 decimated for DeepLab's LargeFOV head. */
function foreignToVgg16(vgg: VGG16, foreign: WeightFile): { arrays: ImportedArrays; map: WeightNameMap } {
  const { fc, batchNorm } = vgg.config;
  const caffe = foreign.format === 'caffe';
  const fcLayout = foreign.layerTypes?.get('fc6') === 'Convolution' ? 'conv' : 'linear-as-conv';
  const base = caffe ? vggCaffeMap(fcLayout) : vggTorchvisionMap(batchNorm);
  const conv1 = base.source('conv1_1.weight')!.key;
  widthCheck(vgg, foreign.file, foreign.tensors.get(conv1)?.shape[0]);
  const isFc = (key: string) => /^(fc[67]\/|classifier\.[03]\.)/.test(key);
  const map: WeightNameMap = {
    ...base,
    ignore: (key) => base.ignore?.(key) === true || (fc === 'none' && isFc(key)),
  };
  const targets: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(vgg.stateDict())) {
    if (name.startsWith('fc') && fc !== '7x7') continue;
    if (name.includes('_bn.') && map.source(name) === null) continue;
    targets[name] = [...t.shape];
  }
  if (fc === 'largefov') {
    // The file's full fc6/fc7 (7x7 and 1x1 at 4096 channels), decimated below.
    const fc6 = foreign.tensors.get(map.source('fc6.weight')!.key)?.shape ?? [];
    const fc7 = foreign.tensors.get(map.source('fc7.weight')!.key)?.shape ?? [];
    const pool5 = vgg.channels.pool5;
    const out6 = fc6[fc6.length - (fcLayout === 'conv' && caffe ? 4 : 2)] ?? 4096;
    const out7 = fc7[fc7.length - (fcLayout === 'conv' && caffe ? 4 : 2)] ?? 4096;
    Object.assign(targets, {
      'fc6.weight': [7, 7, pool5, out6],
      'fc6.bias': [out6],
      'fc7.weight': [1, 1, out6, out7],
      'fc7.bias': [out7],
    });
  }
  let mapped: ReturnType<typeof mapWeights>;
  try {
    mapped = mapWeights(foreign, map, targets, { allowMissing: false });
  } catch (e) {
    if (e instanceof WeightsError) throw new CheckpointError(e.file, e.message.slice(e.file.length + 2));
    throw e;
  }
  const arrays: ImportedArrays = new Map(Object.entries(mapped.values));
  if (fc === 'largefov') {
    arrays.set('fc6.weight', decimateKernel(arrays.get('fc6.weight')!, 3, 1, 4));
    arrays.set('fc6.bias', decimateBias(arrays.get('fc6.bias')!, 4));
    arrays.set('fc7.weight', decimateKernel(arrays.get('fc7.weight')!, 1, 4, 4));
    arrays.set('fc7.bias', decimateBias(arrays.get('fc7.bias')!, 4));
  }
  return { arrays, map };
}

export async function importWeights(vgg: VGG16, source: WeightsSource): Promise<ImportReport> {
  const read = await readWeightsSource(source);
  const { format, file, foreign } = read;
  try {
    let arrays: ImportedArrays;
    let normalization = CAFFE_VGG_NORMALIZATION;
    if (format === 'keras-hdf5' || format === 'tfjs-layers') {
      const { width, inChannels } = vgg.config;
      if (width !== 1 || inChannels !== 3) {
        throw new CheckpointError(
          file,
          `ImageNet VGG16 weights need width 1 and 3 input channels (this network: width ${width}, ${inChannels} channels)`,
        );
      }
      arrays = kerasToVgg16(read.weights, vgg.config.fc, file);
    } else {
      const result = foreignToVgg16(vgg, foreign);
      arrays = result.arrays;
      normalization = result.map.normalization;
    }
    const params = vgg.stateDict();
    const dict: StateDict = {};
    try {
      for (const [name, { data, shape }] of arrays) {
        const target = params[name];
        if (!target)
          throw new CheckpointError(
            file,
            `weight '${name}' has no place in this VGG16 (fc: ${vgg.config.fc})`,
          );
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
    // The model takes its inputs as the weights' producer did.
    vgg.normalization = normalization;
    const loaded = Object.keys(dict);
    const notInSource = Object.keys(params).filter((n) => !(n in dict));
    return { format, file, loaded, notInSource, normalization };
  } finally {
    (foreign as { close?: () => void }).close?.();
  }
}
