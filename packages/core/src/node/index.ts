// Node-only helpers of @semseg/core: checkpoint files, and the Node backend loaders.
export {
  type SaveCheckpointOptions,
  type SaveStage,
  checkpointFiles,
  loadCheckpoint,
  readCheckpointMeta,
  recoverCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
export { type AdapterSummary, summarizeAdapter } from './backends/adapter.js';
export { NODE_BACKENDS, type NodeBackend, nodeBackendLoaders, useNodeBackend } from './backends/index.js';
export { NODE_GPU_PACKAGE, NODE_GPU_REQUIREMENTS, nodeGpuLoader } from './backends/node-gpu.js';
export type { NodeBackendOptions } from './backends/options.js';
export { cpuLoader, wasmBinaryFolder, wasmLoader } from './backends/wasm.js';
export { probeWebGpuAdapter } from './backends/webgpu-probe.js';
export {
  SWIFTSHADER_ICD,
  type WebGpuLoaderOptions,
  lastWebGpuAdapter,
  webgpuLoader,
} from './backends/webgpu.js';
