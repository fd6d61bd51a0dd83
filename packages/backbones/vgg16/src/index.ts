export {
  type ResolvedVGG16Config,
  type VGG16Config,
  VGG16_BLOCKS,
  scaledChannels,
  vgg16ConfigSchema,
} from './config.js';
export { type PoolSwitches, VGG16, VGG16_CONV_NAMES, type VGG16Features } from './vgg16.js';
export { decimateBias, decimateKernel } from './weights/decimate.js';
export type { ImportReport } from './weights/import.js';
export type { ArrayWithShape } from './weights/keras-layout.js';
export type {
  InMemoryLayersModel,
  NamedBlob,
  ReadWeights,
  WeightsFormat,
  WeightsSource,
} from './weights/source.js';
export { readWeightsSource } from './weights/source.js';
export { setHdf5Module } from './weights/hdf5.js';
export { vggCaffeMap, vggTorchvisionMap } from './weights/foreign-maps.js';
