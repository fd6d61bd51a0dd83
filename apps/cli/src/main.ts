import * as tf from '@tensorflow/tfjs-core';
import { CommanderError } from 'commander';
import { EXIT_FAILURE, EXIT_USAGE, describeFailure, oneLine } from './errors.js';
import { createProgram } from './program.js';

export interface Io {
  stderr: (text: string) => void;
}

const defaultIo: Io = { stderr: (text) => process.stderr.write(text) };

/**
 * Runs the CLI and returns the exit code. Every failure becomes one line, `semseg: <message>`;
 * errors nobody meant to raise add a hint to rerun with --debug, which prints the stack.
 */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  const debug = argv.includes('--debug') || process.env.SEMSEG_DEBUG === '1';
  // tfjs' production mode only silences its console notes (such as the banner suggesting
  // tfjs-node on every cpu-backend run); --debug keeps them.
  if (!debug) tf.env().set('PROD', true);
  try {
    // Inside the try: option defaults read the environment (SEMSEG_THREADS) and may refuse it.
    const program = createProgram();
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end in a CommanderError with exit code 0.
      if (error.exitCode === 0) return 0;
      io.stderr(`semseg: ${oneLine(error.message.replace(/^error: /, ''))}\n`);
      return EXIT_USAGE;
    }
    const { line, unexpected } = describeFailure(error);
    const hint = unexpected && !debug ? ' (rerun with --debug for the stack trace)' : '';
    io.stderr(`semseg: ${line}${hint}\n`);
    if (debug && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    const code = (error as { code?: unknown }).code;
    return code === 'E_USAGE' ? EXIT_USAGE : EXIT_FAILURE;
  }
}
