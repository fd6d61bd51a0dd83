export type { ClassMetrics, SegmentationMetrics } from './compute-metrics.js';
export { ConfusionMatrix, type ConfusionMatrixOptions } from './confusion-matrix.js';
export { type LabelErrorLocation, MetricsError, type MetricsErrorCode } from './errors.js';
export {
  type ClassColumn,
  type ClassTableOptions,
  type SummaryTableOptions,
  type TableStyle,
  formatClassTable,
  formatSummaryTable,
} from './format-table.js';
export { type LabelArray, isLabelArray } from './label-array.js';
export {
  CONFUSION_MATRIX_FORMAT,
  CONFUSION_MATRIX_VERSION,
  type ConfusionMatrixJSON,
  MAX_CLASSES,
} from './serialization.js';
