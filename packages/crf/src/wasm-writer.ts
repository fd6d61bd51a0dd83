// The WebAssembly writer the CRF's kernels are generated with, for other packages that generate
// small kernels at run time (the engine's optimiser update over shared memory). Internal API:
// it follows what those kernels need.
export {
  type Code,
  FunctionBuilder,
  type Local,
  type MemoryImport,
  type ValueType,
  encodeModule,
} from './wasm/encoder.js';
export { control, f32, f32x4, forRange, i32, i32x4, local, memory, v128 } from './wasm/ops.js';
