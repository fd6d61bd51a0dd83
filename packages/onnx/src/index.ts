// @semseg/onnx: ONNX export of a registered semseg.js model by tracing the kernels tfjs runs.
export { exportOnnx, ONNX_OPSET } from './export.js';
export type { ExportOnnxOptions } from './export.js';
