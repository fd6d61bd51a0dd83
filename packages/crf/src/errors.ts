// The same shape as @semseg/core's errors (code + user-facing message). crf does not import core:
// core's entry pulls in tfjs-core, and this package must run with no engine at all.

/** Bad user input: an array or an argument that cannot be used as given. `argument` names it. */
export class InputError extends Error {
  readonly code = 'E_INPUT';
  readonly argument: string;
  constructor(argument: string, problem: string) {
    super(`${argument}: ${problem}`);
    this.name = 'InputError';
    this.argument = argument;
  }
}
