import { MetricsError } from './errors.js';

export const CONFUSION_MATRIX_FORMAT = 'semseg-confusion-matrix';
export const CONFUSION_MATRIX_VERSION = 1;
/** A dense n x n matrix of doubles: 4096 classes is already 128 MB. */
export const MAX_CLASSES = 4096;

/** A saved matrix: `counts` is row-major, rows ground truth, columns prediction. */
export interface ConfusionMatrixJSON {
  format: typeof CONFUSION_MATRIX_FORMAT;
  version: typeof CONFUSION_MATRIX_VERSION;
  numClasses: number;
  ignoreIndex: number | null;
  ignoredPixels: number;
  counts: number[];
}

function fail(problem: string): never {
  throw new MetricsError('E_JSON', `ConfusionMatrix.fromJSON: ${problem}`);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Checks every field of a saved matrix (a JSON string or the parsed object) and names the first bad one. */
export function parseConfusionMatrixJSON(input: unknown): ConfusionMatrixJSON {
  let data = input;
  if (typeof input === 'string') {
    try {
      data = JSON.parse(input);
    } catch (error) {
      fail(`not valid JSON (${(error as Error).message})`);
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail('expected an object');
  const record = data as Record<string, unknown>;
  if (record.format !== CONFUSION_MATRIX_FORMAT) {
    fail(`format must be "${CONFUSION_MATRIX_FORMAT}", got ${show(record.format)}`);
  }
  const { version } = record;
  if (typeof version !== 'number' || !Number.isInteger(version))
    fail(`version must be an integer, got ${show(version)}`);
  if (version !== CONFUSION_MATRIX_VERSION) {
    fail(`version ${version} is not supported (this package reads version ${CONFUSION_MATRIX_VERSION})`);
  }
  const { numClasses, ignoreIndex, ignoredPixels, counts } = record;
  if (
    typeof numClasses !== 'number' ||
    !Number.isInteger(numClasses) ||
    numClasses < 1 ||
    numClasses > MAX_CLASSES
  ) {
    fail(`numClasses must be an integer in 1..${MAX_CLASSES}, got ${show(numClasses)}`);
  }
  if (ignoreIndex !== null && (typeof ignoreIndex !== 'number' || !Number.isSafeInteger(ignoreIndex))) {
    fail(`ignoreIndex must be an integer or null, got ${show(ignoreIndex)}`);
  }
  if (ignoreIndex !== null && ignoreIndex >= 0 && ignoreIndex < numClasses) {
    fail(`ignoreIndex ${ignoreIndex} is a class index (0..${numClasses - 1})`);
  }
  if (!isCount(ignoredPixels))
    fail(`ignoredPixels must be a non-negative integer, got ${show(ignoredPixels)}`);
  if (!Array.isArray(counts)) fail(`counts must be an array, got ${show(counts)}`);
  if (counts.length !== numClasses * numClasses) {
    fail(`counts must hold numClasses^2 = ${numClasses * numClasses} entries, got ${counts.length}`);
  }
  let total = ignoredPixels;
  for (let i = 0; i < counts.length; i++) {
    const value: unknown = counts[i];
    if (!isCount(value)) {
      const row = Math.floor(i / numClasses);
      fail(
        `counts[${i}] (target ${row}, prediction ${i - row * numClasses}) must be a non-negative integer, got ${show(value)}`,
      );
    }
    total += value;
  }
  // Past 2^53 the sums behind every metric would round.
  if (!Number.isSafeInteger(total)) fail('the counts add up to more than 2^53 pixels');
  return {
    format: CONFUSION_MATRIX_FORMAT,
    version: CONFUSION_MATRIX_VERSION,
    numClasses,
    ignoreIndex: ignoreIndex as number | null,
    ignoredPixels,
    counts: counts as number[],
  };
}
