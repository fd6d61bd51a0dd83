import type { ClassMetrics, SegmentationMetrics } from './compute-metrics.js';
import { MetricsError } from './errors.js';

export type TableStyle = 'text' | 'markdown';
export type ClassColumn = 'iou' | 'accuracy' | 'dice' | 'precision';

export interface ClassTableOptions {
  /** One name per class (e.g. the 21 VOC names); default: the class index. */
  classNames?: readonly string[];
  /** Aligned plain text for terminals, or a Markdown table. Default 'text'. */
  style?: TableStyle;
  /** Which scores, in order. Default ['iou', 'accuracy'] (mmsegmentation's table). */
  columns?: readonly ClassColumn[];
  /** Decimals of the percentages. Default 2. */
  digits?: number;
}

export interface SummaryTableOptions {
  style?: TableStyle;
  digits?: number;
}

const COLUMN_TITLES: Record<ClassColumn, string> = {
  iou: 'IoU',
  accuracy: 'Acc',
  dice: 'Dice',
  precision: 'Precision',
};

const MEAN_OF: Record<ClassColumn, (m: SegmentationMetrics) => number> = {
  iou: (m) => m.meanIoU,
  accuracy: (m) => m.meanAccuracy,
  dice: (m) => m.meanDice,
  precision: (m) => meanDefined(m.perClass.map((c) => c.precision)),
};

function meanDefined(values: readonly number[]): number {
  const defined = values.filter((v) => !Number.isNaN(v));
  return defined.length > 0 ? defined.reduce((a, b) => a + b, 0) / defined.length : Number.NaN;
}

/** A fraction as a percentage; 'nan' (as mmsegmentation prints it) for a score that is undefined. */
function percent(value: number, digits: number): string {
  return Number.isNaN(value) ? 'nan' : (value * 100).toFixed(digits);
}

function checkDigits(context: string, digits: number): void {
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) {
    throw new MetricsError('E_ARGUMENT', `${context}: digits must be an integer in 0..10, got ${digits}`);
  }
}

/** Lays out rows of cells: the first column left-aligned, the others right-aligned. */
function renderTable(header: readonly string[], rows: readonly string[][], style: TableStyle): string {
  const escapeCell = (cell: string) => (style === 'markdown' ? cell.replaceAll('|', '\\|') : cell);
  const all = [header, ...rows].map((row) => row.map(escapeCell));
  const widths = header.map((_, i) => Math.max(3, ...all.map((row) => row[i]!.length)));
  const pad = (cell: string, i: number) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!));
  const lines = all.map((row) => row.map(pad));
  if (style === 'markdown') {
    const rule = widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w - 1)}` : `${'-'.repeat(w - 1)}:`));
    const md = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
    return [md(lines[0]!), md(rule), ...lines.slice(1).map(md)].join('\n');
  }
  const rule = widths.map((w) => '-'.repeat(w));
  const text = (cells: readonly string[]) => cells.join('  ').trimEnd();
  return [text(lines[0]!), text(rule), ...lines.slice(1).map(text)].join('\n');
}

function checkStyle(context: string, style: string): void {
  if (style !== 'text' && style !== 'markdown') {
    throw new MetricsError(
      'E_ARGUMENT',
      `${context}: style must be 'text' or 'markdown', got ${String(style)}`,
    );
  }
}

/**
 * The per-class table the CLI prints: one row per class with its scores in percent, then a
 * "mean" row (the means leave out classes whose score is nan, as `compute()` does).
 */
export function formatClassTable(metrics: SegmentationMetrics, options: ClassTableOptions = {}): string {
  const context = 'formatClassTable';
  const { style = 'text', columns = ['iou', 'accuracy'], digits = 2 } = options;
  checkStyle(context, style);
  checkDigits(context, digits);
  const count = metrics.perClass.length;
  const names = options.classNames ?? metrics.perClass.map((_, c) => String(c));
  if (names.length !== count) {
    throw new MetricsError(
      'E_ARGUMENT',
      `${context}: classNames has ${names.length} names but the metrics have ${count} classes`,
    );
  }
  if (columns.length === 0) throw new MetricsError('E_ARGUMENT', `${context}: columns is empty`);
  for (const column of columns) {
    if (!(column in COLUMN_TITLES)) {
      throw new MetricsError(
        'E_ARGUMENT',
        `${context}: unknown column ${JSON.stringify(column)}; use ${Object.keys(COLUMN_TITLES).join(', ')}`,
      );
    }
  }
  const cell = (m: ClassMetrics, column: ClassColumn) => percent(m[column], digits);
  const rows = metrics.perClass.map((m, c) => [names[c]!, ...columns.map((column) => cell(m, column))]);
  rows.push(['mean', ...columns.map((column) => percent(MEAN_OF[column](metrics), digits))]);
  return renderTable(['Class', ...columns.map((c) => COLUMN_TITLES[c])], rows, style);
}

/** One row of the overall scores: aAcc, mIoU, mAcc, fwIoU, mDice (percent), as mmsegmentation's summary. */
export function formatSummaryTable(metrics: SegmentationMetrics, options: SummaryTableOptions = {}): string {
  const context = 'formatSummaryTable';
  const { style = 'text', digits = 2 } = options;
  checkStyle(context, style);
  checkDigits(context, digits);
  const scores = [
    metrics.pixelAccuracy,
    metrics.meanIoU,
    metrics.meanAccuracy,
    metrics.fwIoU,
    metrics.meanDice,
  ];
  return renderTable(
    ['aAcc', 'mIoU', 'mAcc', 'fwIoU', 'mDice'],
    [scores.map((v) => percent(v, digits))],
    style,
  );
}
