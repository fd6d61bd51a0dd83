import { type SegmentationMetrics, formatClassTable, formatSummaryTable } from '@semseg/metrics';

// The record `semseg eval --json` writes, its merge and shard selection are @semseg/engine's
// (evalRecord, mergeEvalRecords, parseShard); the CLI only prints the tables.

/** The per-class table and the summary, as text (terminal) or Markdown (reports). */
export function formatMetrics(
  metrics: SegmentationMetrics,
  classes: readonly string[],
  style: 'text' | 'markdown',
): string {
  return `${formatClassTable(metrics, { classNames: classes, style, columns: ['iou', 'accuracy'] })}\n\n${formatSummaryTable(metrics, { style })}`;
}
