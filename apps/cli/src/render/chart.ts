import { Raster } from '@semseg/voc-data';
import { FONT_FAMILY, compositeSvgToPng, escapeXml } from './svg-text.js';

export interface CurvePoint {
  step: number;
  value: number;
}

export interface TrainingCurves {
  /** Training loss by step (left axis). */
  loss: readonly CurvePoint[];
  /** Validation mIoU (0..1) by step (right axis). */
  miou: readonly CurvePoint[];
  title?: string;
}

export const LOSS_COLOR: readonly [number, number, number] = [31, 119, 180];
export const MIOU_COLOR: readonly [number, number, number] = [230, 120, 20];
const AXIS_COLOR: readonly [number, number, number] = [40, 40, 40];
const GRID_COLOR: readonly [number, number, number] = [225, 225, 225];

export interface ChartGeometry {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  maxStep: number;
  maxLoss: number;
  /** Pixel x of a step. */
  x(step: number): number;
  /** Pixel y of a loss value (left axis, 0..maxLoss). */
  yLoss(loss: number): number;
  /** Pixel y of an mIoU (right axis, 0..1). */
  yMiou(miou: number): number;
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

export function chartGeometry(curves: TrainingCurves, width = 720, height = 400): ChartGeometry {
  const left = 64;
  const right = width - 64;
  const top = 36;
  const bottom = height - 44;
  const steps = [...curves.loss, ...curves.miou].map((p) => p.step);
  const maxStep = Math.max(1, ...steps);
  const finiteLosses = curves.loss.map((p) => p.value).filter(Number.isFinite);
  const maxLoss = niceCeiling(Math.max(0, ...finiteLosses));
  return {
    width,
    height,
    left,
    right,
    top,
    bottom,
    maxStep,
    maxLoss,
    x: (step) => left + ((right - left) * step) / maxStep,
    yLoss: (loss) => bottom - ((bottom - top) * Math.min(Math.max(loss, 0), maxLoss)) / maxLoss,
    yMiou: (miou) => bottom - (bottom - top) * Math.min(Math.max(miou, 0), 1),
  };
}

const TICKS = 5;

/** The raster part of the chart: grid, axes, loss line and mIoU line with point markers. */
export function drawChart(
  curves: TrainingCurves,
  width = 720,
  height = 400,
): { raster: Raster; geometry: ChartGeometry } {
  const g = chartGeometry(curves, width, height);
  const raster = new Raster(width, height);
  for (let i = 0; i <= TICKS; i++) {
    const y = g.top + ((g.bottom - g.top) * i) / TICKS;
    raster.line(g.left, y, g.right, y, GRID_COLOR);
    const x = g.left + ((g.right - g.left) * i) / TICKS;
    raster.line(x, g.top, x, g.bottom, GRID_COLOR);
  }
  raster.line(g.left, g.top, g.left, g.bottom, AXIS_COLOR, 2);
  raster.line(g.right, g.top, g.right, g.bottom, AXIS_COLOR, 2);
  raster.line(g.left, g.bottom, g.right, g.bottom, AXIS_COLOR, 2);
  const loss = curves.loss.filter((p) => Number.isFinite(p.value));
  for (let i = 1; i < loss.length; i++) {
    const a = loss[i - 1]!;
    const b = loss[i]!;
    raster.line(g.x(a.step), g.yLoss(a.value), g.x(b.step), g.yLoss(b.value), LOSS_COLOR, 2);
  }
  const miou = curves.miou.filter((p) => Number.isFinite(p.value));
  for (let i = 0; i < miou.length; i++) {
    const p = miou[i]!;
    raster.fillRect(g.x(p.step) - 3, g.yMiou(p.value) - 3, 7, 7, MIOU_COLOR);
    if (i > 0) {
      const a = miou[i - 1]!;
      raster.line(g.x(a.step), g.yMiou(a.value), g.x(p.step), g.yMiou(p.value), MIOU_COLOR, 2);
    }
  }
  return { raster, geometry: g };
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return Number(value.toPrecision(3)).toString();
}

/** Tick labels, axis titles and the key, as SVG text over the raster. */
function chartText(g: ChartGeometry, title: string): string {
  const parts: string[] = [];
  const text = (x: number, y: number, anchor: string, content: string, color = '#222', size = 11) =>
    `<text x="${x}" y="${y}" text-anchor="${anchor}" font-family="${FONT_FAMILY}" font-size="${size}" fill="${color}">${escapeXml(content)}</text>`;
  for (let i = 0; i <= TICKS; i++) {
    const fraction = i / TICKS;
    const y = g.bottom - (g.bottom - g.top) * fraction;
    parts.push(text(g.left - 6, y + 4, 'end', formatTick(g.maxLoss * fraction)));
    parts.push(text(g.right + 6, y + 4, 'start', formatTick(fraction)));
    const x = g.left + (g.right - g.left) * fraction;
    parts.push(text(x, g.bottom + 16, 'middle', formatTick(Math.round(g.maxStep * fraction))));
  }
  parts.push(text((g.left + g.right) / 2, g.height - 8, 'middle', 'step'));
  parts.push(text(g.left, g.top - 10, 'start', 'loss', 'rgb(31,119,180)', 12));
  parts.push(text(g.right, g.top - 10, 'end', 'val mIoU', 'rgb(230,120,20)', 12));
  parts.push(text((g.left + g.right) / 2, g.top - 12, 'middle', title, '#111', 13));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}">${parts.join('')}</svg>`;
}

/** The loss / mIoU curve as a PNG. */
export async function renderChartPng(curves: TrainingCurves, width = 720, height = 400): Promise<Buffer> {
  const { raster, geometry } = drawChart(curves, width, height);
  return compositeSvgToPng(raster.data, width, height, chartText(geometry, curves.title ?? 'training'));
}
