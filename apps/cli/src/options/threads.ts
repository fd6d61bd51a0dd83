import { availableParallelism } from 'node:os';
import { Option } from 'commander';
import { UsageError } from '../errors.js';
import { parsePositiveInt } from './numbers.js';

/** The default of `--threads`: SEMSEG_THREADS when set, else the machine's cores. */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.SEMSEG_THREADS;
  if (text === undefined || text.trim() === '') return availableParallelism();
  try {
    return parsePositiveInt(text);
  } catch (error) {
    throw new UsageError(`SEMSEG_THREADS: ${(error as Error).message}`);
  }
}

/**
 * `--threads <n>`, shared by train, eval, predict and bench (and the onnx runtime's intra-op
 * threads): how many CPU threads the command may use. `1` runs everything on the main thread.
 */
export function threadsOption(): Option {
  const threads = defaultThreads();
  const origin = process.env.SEMSEG_THREADS ? 'SEMSEG_THREADS' : "the machine's cores";
  return new Option('--threads <n>', 'CPU threads to use (1: one thread, as before)')
    .argParser(parsePositiveInt)
    .default(threads, `${origin}: ${threads}`);
}
