// @semseg/onnx: ONNX export of a registered semseg.js model by tracing the kernels tfjs runs.
export { exportOnnx, ONNX_INPUT, ONNX_MAX_OPSET, ONNX_OPSET, ONNX_OUTPUT } from './export.js';
export type { ExportOnnxOptions } from './export.js';
export { ExportError } from './convert/context.js';
export {
  SIZES_METADATA_KEY,
  type ServedAxis,
  type ServedSizes,
  describeSizes,
  serves,
  servedSizesOf,
} from './size.js';
// The onnxruntime inference path (runtime-agnostic part; onnxruntime-node is under ./node).
export {
  type ModelOnRuntimeOptions,
  OnnxSegmentationModel,
  type OrtRuntime,
  type OrtSessionLike,
  type OrtTensorLike,
  onnxModelOn,
  SEMSEG_METADATA_KEY,
  checkpointMetadata,
  readCheckpointMetadata,
  readMetadataProps,
} from './runtime/index.js';
