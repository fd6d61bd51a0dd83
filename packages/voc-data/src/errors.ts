/** A dataset file (or folder) that cannot be used; `file` names it and the message says why. */
export class DatasetError extends Error {
  readonly code = 'E_DATASET';
  readonly file: string;
  readonly problem: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DatasetError';
    this.file = file;
    this.problem = problem;
  }
}
