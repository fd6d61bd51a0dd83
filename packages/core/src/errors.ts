/** Base class of every error semseg.js raises on purpose: its message is meant for users. */
export class SemsegError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A checkpoint (or weights file) that cannot be read; `file` names the file at fault. */
export class CheckpointError extends SemsegError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super('E_CHECKPOINT', `${file}: ${problem}`);
    this.file = file;
  }
}

/** A backend that cannot be selected or loaded. */
export class BackendError extends SemsegError {
  constructor(message: string) {
    super('E_BACKEND', message);
  }
}

/** A model or run configuration that does not validate. */
export class ConfigError extends SemsegError {
  constructor(message: string) {
    super('E_CONFIG', message);
  }
}

/** Bad user input: a file, an array or an argument that cannot be used as given. */
export class InputError extends SemsegError {
  readonly file: string | undefined;
  constructor(problem: string, file?: string) {
    super('E_INPUT', file ? `${file}: ${problem}` : problem);
    this.file = file;
  }
}

export interface ShapeMismatch {
  name: string;
  expected: readonly number[];
  actual: readonly number[];
}

/** A state dict that does not fit a module: lists every missing, unexpected and mis-shaped tensor. */
export class StateDictError extends SemsegError {
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly ShapeMismatch[];
  constructor(
    missing: readonly string[],
    unexpected: readonly string[],
    mismatched: readonly ShapeMismatch[],
    source?: string,
  ) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing ${missing.length}: ${missing.join(', ')}`);
    if (unexpected.length > 0) parts.push(`unexpected ${unexpected.length}: ${unexpected.join(', ')}`);
    if (mismatched.length > 0) {
      const items = mismatched.map((m) => `${m.name} (expected [${m.expected}], got [${m.actual}])`);
      parts.push(`wrong shape ${mismatched.length}: ${items.join(', ')}`);
    }
    const prefix = source ? `${source}: ` : '';
    super('E_STATE_DICT', `${prefix}state dict does not match the model; ${parts.join('; ')}`);
    this.missing = missing;
    this.unexpected = unexpected;
    this.mismatched = mismatched;
  }
}
