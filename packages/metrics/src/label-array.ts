import { MetricsError } from './errors.js';

/** Class-index maps the matrix accepts: PNG labels (Uint8), large label sets (Uint16), tfjs argMax (Int32). */
export type LabelArray = Uint8Array | Uint16Array | Int32Array;

export function isLabelArray(value: unknown): value is LabelArray {
  return value instanceof Uint8Array || value instanceof Uint16Array || value instanceof Int32Array;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value))
    return typeof value[0] === 'number' ? 'a plain array of numbers' : 'a plain array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  return typeof value;
}

/** Throws unless `value` is a LabelArray; `name` is how the message refers to it (e.g. `pred[2]`). */
export function assertLabelArray(context: string, name: string, value: unknown): asserts value is LabelArray {
  if (!isLabelArray(value)) {
    throw new MetricsError(
      'E_ARGUMENT',
      `${context}: ${name} must be a Uint8Array, Uint16Array or Int32Array of class indices, got ${describe(value)}`,
    );
  }
}
