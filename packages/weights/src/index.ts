// @semseg/weights: readers and writers for trained networks of other frameworks, with no tfjs,
// for Node, browsers and workers. Node's path reader is `@semseg/weights/node`.
export { WeightsError } from './errors.js';
export type { ByteSource, ForeignTensor, WeightFile, WeightFormat } from './types.js';
export { memorySource } from './types.js';
export { type ReadOptions, readWeights, readWeightsFrom } from './read.js';
export {
  type MapOptions,
  type MappedWeights,
  type TensorLayout,
  type TensorSource,
  type WeightNameMap,
  type WeightsPlan,
  foreignShape,
  mapWeights,
  planWeights,
  toForeignLayout,
  toOurLayout,
} from './map.js';
export { type TensorToWrite, writeSafetensors } from './formats/safetensors.js';
export { writePytorch } from './formats/pytorch.js';
export { setHdf5Module } from './formats/hdf5.js';
export type { ShardReader } from './formats/tfjs.js';
export { decodeNpy, encodeNpy, NpyError, type NpyArray } from './npy.js';
