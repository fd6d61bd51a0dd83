/**
 * First Ctrl-C: ask the run to stop after the current step (it writes a checkpoint). Second: quit now.
 */
export function interruptSignal(write: (text: string) => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      write('\nsemseg: interrupted again, quitting without a checkpoint\n');
      process.exit(130);
    }
    write('\nsemseg: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}
