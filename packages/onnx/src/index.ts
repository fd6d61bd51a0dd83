// @semseg/onnx: ONNX export of a registered semseg.js model by tracing the kernels tfjs runs.
export { exportOnnx, ONNX_OPSET } from './export.js';
export type { ExportOnnxOptions } from './export.js';
// The onnxruntime inference path (runtime-agnostic part; onnxruntime-node is under ./node).
export {
  OnnxSegmentationModel,
  type OrtRuntime,
  SEMSEG_METADATA_KEY,
  checkpointMetadata,
  readCheckpointMetadata,
  readMetadataProps,
} from './runtime/index.js';
