/**
 * What went wrong, for programs that branch on it:
 * - `E_ARGUMENT`: a constructor or option argument that cannot be used.
 * - `E_LENGTH`: prediction and target disagree in pixel or image count.
 * - `E_PREDICTION`: a predicted value that is not a class index.
 * - `E_TARGET`: a target value that is neither a class index nor the ignore index.
 * - `E_MERGE`: two matrices that cannot be combined.
 * - `E_JSON`: a saved matrix that does not validate.
 */
export type MetricsErrorCode = 'E_ARGUMENT' | 'E_LENGTH' | 'E_PREDICTION' | 'E_TARGET' | 'E_MERGE' | 'E_JSON';

/** Where a bad label sits: `image` is the batch index (absent for a single image), `index` the pixel. */
export interface LabelErrorLocation {
  argument: 'pred' | 'target';
  value: number;
  index: number;
  image?: number;
  /** How many pixels of the call are bad in the same way (the message names the first). */
  count: number;
}

/** Every error @semseg/metrics raises on purpose; its message names the argument and the problem. */
export class MetricsError extends Error {
  readonly code: MetricsErrorCode;
  readonly location: LabelErrorLocation | undefined;

  constructor(code: MetricsErrorCode, message: string, location?: LabelErrorLocation) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.location = location;
  }
}
