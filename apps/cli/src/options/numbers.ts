import { UsageError } from '../errors.js';

// Parsers for flag values. Each takes the text as typed and throws a UsageError that says what
// was expected; commander wraps the message into "option '--x <v>' argument 'y' is invalid".

function number(text: string): number {
  const trimmed = text.trim();
  // Number('') is 0 and Number('0x10') is 16: accept only plain decimal notation.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed))
    throw new UsageError(`'${text}' is not a number`);
  return Number(trimmed);
}

export function parsePositiveInt(text: string): number {
  const value = number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`expected a whole number >= 1, got '${text}'`);
  return value;
}

export function parseNonNegativeInt(text: string): number {
  const value = number(text);
  if (!Number.isInteger(value) || value < 0)
    throw new UsageError(`expected a whole number >= 0, got '${text}'`);
  return value;
}

export function parsePositiveNumber(text: string): number {
  const value = number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`expected a number > 0, got '${text}'`);
  return value;
}

export function parseNonNegativeNumber(text: string): number {
  const value = number(text);
  if (!(value >= 0) || !Number.isFinite(value)) throw new UsageError(`expected a number >= 0, got '${text}'`);
  return value;
}

/** A momentum-like value in [0, 1). */
export function parseUnitInterval(text: string): number {
  const value = number(text);
  if (!(value >= 0 && value < 1)) throw new UsageError(`expected a number in [0, 1), got '${text}'`);
  return value;
}

/** A channel-width multiplier: `1/8`, `0.125` or `1`, in (0, 1]. */
export function parseWidth(text: string): number {
  const fraction = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const value = fraction ? Number(fraction[1]) / Number(fraction[2]) : number(text);
  if (!(value > 0 && value <= 1))
    throw new UsageError(`expected a width in (0, 1] such as 1/8 or 0.25, got '${text}'`);
  return value;
}

/** `0.5,0.75,1,1.25`: positive scales, no repeats. */
export function parseScales(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === ''))
    throw new UsageError(`expected comma-separated scales such as 0.5,1,1.5, got '${text}'`);
  const scales = parts.map((p) => {
    const value = number(p);
    if (!(value > 0 && value <= 8)) throw new UsageError(`scale '${p}' must be in (0, 8]`);
    return value;
  });
  if (new Set(scales).size !== scales.length) throw new UsageError(`scales repeat in '${text}'`);
  return scales;
}

/** A size in pixels: `321` (square), `321x481` or `321,481` (height x width). */
export function parseSize(text: string): [number, number] {
  const parts = text.split(/[x,]/i).map((p) => p.trim());
  if (parts.length < 1 || parts.length > 2)
    throw new UsageError(`expected a size such as 321 or 321x481, got '${text}'`);
  const sizes = parts.map((p) => {
    const value = number(p);
    if (!Number.isInteger(value) || value < 1 || value > 16384) {
      throw new UsageError(`expected a size such as 321 or 321x481 (whole pixels, 1..16384), got '${text}'`);
    }
    return value;
  });
  return [sizes[0]!, sizes[1] ?? sizes[0]!];
}

/**
 * `sxy=3,compat=3`: numbers by name, only names from `allowed`. Values may be vectors written
 * with `:` (`sxy=80:60`, `srgb=13:13:13`).
 */
export function parseKeyValues(text: string, allowed: readonly string[]): Record<string, number | number[]> {
  const out: Record<string, number | number[]> = {};
  for (const part of text.split(',')) {
    const match = /^\s*([a-zA-Z]+)\s*=\s*([^=]+?)\s*$/.exec(part);
    if (!match) throw new UsageError(`expected name=value pairs such as ${allowed[0]}=3, got '${part}'`);
    const [, key, raw] = match as unknown as [string, string, string];
    if (!allowed.includes(key)) throw new UsageError(`unknown key '${key}'; use ${allowed.join(', ')}`);
    if (key in out) throw new UsageError(`'${key}' is given twice`);
    const values = raw.split(':').map((v) => parseNonNegativeNumber(v));
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}
