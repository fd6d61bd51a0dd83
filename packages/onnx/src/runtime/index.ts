export { SEMSEG_METADATA_KEY, checkpointMetadata, readCheckpointMetadata } from './metadata.js';
export { type ModelOnRuntimeOptions, onnxModelOn } from './from-model.js';
export { readMetadataProps } from './model-proto.js';
export {
  ExportedGraphs,
  FileGraph,
  type GraphSource,
  type OnnxGraph,
  type OnnxModelInfo,
  OnnxSegmentationModel,
  type OrtRuntime,
  type OrtSessionLike,
  type OrtTensorLike,
  describeGraph,
} from './network.js';
