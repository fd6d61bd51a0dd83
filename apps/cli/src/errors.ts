/** A problem with what the user asked for (a flag, a file, a combination): printed as one line. */
export class UsageError extends Error {
  readonly code = 'E_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes: 1 for a failed run, 2 for bad usage, 130 after Ctrl-C (the shell's SIGINT code). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/**
 * Errors the packages raise on purpose carry a code like `E_CHECKPOINT` and a message meant for
 * users (core's SemsegError family, crf's InputError, voc-data's DatasetError, metrics'
 * MetricsError). Those, and file-system errors that name a path, are shown as they are.
 */
export function isUserFacing(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  if (/^E_[A-Z_]+$/.test(code)) return true;
  return FS_CODES.has(code) && typeof (error as NodeJS.ErrnoException).path === 'string';
}

const FS_CODES = new Map([
  ['ENOENT', 'no such file or folder'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'operation not permitted'],
  ['EISDIR', 'is a folder, not a file'],
  ['ENOTDIR', 'not a folder'],
  ['EEXIST', 'already exists'],
  ['ENOSPC', 'no space left on the device'],
]);

/** One line, whatever the message held. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The line `semseg: ...` a failure prints, and whether the stack hint belongs after it. */
export function describeFailure(error: unknown): { line: string; unexpected: boolean } {
  if (isUserFacing(error)) {
    const errno = error as NodeJS.ErrnoException;
    const fsProblem = FS_CODES.get(errno.code ?? '');
    if (fsProblem && errno.path) return { line: `${errno.path}: ${fsProblem}`, unexpected: false };
    return { line: oneLine(error.message), unexpected: false };
  }
  if (error instanceof Error && /OffscreenCanvas is not defined/.test(error.message)) {
    // tfjs' WebGPU backend reads synchronously through a canvas, which Node does not have.
    return {
      line: 'the webgpu backend cannot read results synchronously in Node (dataSync), which this step needs; use --backend wasm',
      unexpected: false,
    };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { line: `unexpected error: ${oneLine(message)}`, unexpected: true };
}
