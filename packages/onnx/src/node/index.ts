// Node entry: the onnxruntime-node inference path (an optional dependency, loaded on demand).
export {
  type NodeRuntimeOptions,
  loadOnnxRuntimeNode,
  nodeRuntime,
  onnxModelFromFile,
  onnxModelFromModel,
  ONNXRUNTIME_INSTALL_HINT,
} from './runtime.js';
