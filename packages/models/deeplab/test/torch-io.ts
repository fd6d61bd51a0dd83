// The shared PyTorch reference I/O (one implementation in @semseg/tooling).
export {
  type NamedArray,
  TORCH_PRELUDE,
  maxAbs,
  maxAbsDiff,
  runTorchFilesAsync as runTorch,
} from '@semseg/tooling/torch-io';
