import { availableParallelism } from 'node:os';
import { Option } from 'commander';
import { parsePositiveInt } from './numbers.js';

/** The machine's cores: the default of `--threads`. */
export function machineThreads(): number {
  return availableParallelism();
}

/**
 * `--threads <n>`, shared by train, eval, predict and bench (and the onnx runtime's intra-op
 * threads): how many CPU threads the command may use. `1` runs everything on the main thread.
 */
export function threadsOption(): Option {
  return new Option('--threads <n>', 'CPU threads to use (1: one thread, as before)')
    .argParser(parsePositiveInt)
    .default(machineThreads(), `the machine's cores (${machineThreads()})`);
}
