/**
 * A weights file that cannot be read or does not fit: one line naming the file and the problem.
 * The code follows @semseg/core's errors (this package has no tfjs, so it cannot extend them).
 */
export class WeightsError extends Error {
  readonly code = 'E_WEIGHTS';
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'WeightsError';
    this.file = file;
  }
}
