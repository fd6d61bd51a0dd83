import { type ClassMetrics, type SegmentationMetrics, nanMean } from './compute-metrics.js';
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
  precision: (m) => nanMean(m.perClass.map((c) => c.precision)),
};

/** A fraction as a percentage; 'nan' (as mmsegmentation prints it) for a score that is undefined. */
function percent(value: number, digits: number): string {
  return Number.isNaN(value) ? 'nan' : (value * 100).toFixed(digits);
}

function checkDigits(context: string, digits: number): void {
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) {
    throw new MetricsError('E_ARGUMENT', `${context}: digits must be an integer in 0..10, got ${digits}`);
  }
}

interface Layout {
  /** The first column holds names: left-aligned (numbers are right-aligned). */
  labelColumn: boolean;
  /** Text style only: a rule above the last row (the "mean" row). */
  ruleBeforeLastRow: boolean;
}

/** Lays out rows of cells under a header, padded so that the columns line up in both styles. */
function renderTable(
  header: readonly string[],
  rows: readonly string[][],
  style: TableStyle,
  layout: Layout,
): string {
  const escapeCell = (cell: string) => (style === 'markdown' ? cell.replaceAll('|', '\\|') : cell);
  const all = [header, ...rows].map((row) => row.map(escapeCell));
  const widths = header.map((_, i) => Math.max(3, ...all.map((row) => row[i]!.length)));
  const leftAligned = (i: number) => i === 0 && layout.labelColumn;
  const pad = (cell: string, i: number) =>
    leftAligned(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!);
  const [head, ...body] = all.map((row) => row.map(pad));
  if (style === 'markdown') {
    const rule = widths.map((w, i) => (leftAligned(i) ? `:${'-'.repeat(w - 1)}` : `${'-'.repeat(w - 1)}:`));
    const md = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
    return [md(head!), md(rule), ...body.map(md)].join('\n');
  }
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const text = (cells: readonly string[]) => cells.join('  ').trimEnd();
  const lines = body.map(text);
  if (layout.ruleBeforeLastRow && lines.length > 1) lines.splice(lines.length - 1, 0, rule);
  return [text(head!), rule, ...lines].join('\n');
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
  return renderTable(['Class', ...columns.map((c) => COLUMN_TITLES[c])], rows, style, {
    labelColumn: true,
    ruleBeforeLastRow: true,
  });
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
    { labelColumn: false, ruleBeforeLastRow: false },
  );
}
