import type { Rgb } from '@semseg/voc-data';
import { FONT_FAMILY, compositeSvgToPng, escapeXml } from './svg-text.js';

export interface RgbImageData {
  width: number;
  height: number;
  /** H x W x 3, 0..255. */
  data: Uint8Array | Uint8ClampedArray;
}

export interface LegendEntry {
  index: number;
  name: string;
  color: Rgb;
  /** Share of the image's pixels with this class. */
  share: number;
}

/** Legend geometry in pixels. */
const ROW_HEIGHT = 18;
const SWATCH = 12;
const PADDING = 6;
const COLUMN_WIDTH = 132;
const MIN_WIDTH = COLUMN_WIDTH + 2 * PADDING;

/** Classes present in a label map (255 = ignore is left out), in class order. */
export function legendEntries(
  labels: Uint8Array,
  classes: readonly string[],
  palette: readonly Rgb[],
): LegendEntry[] {
  const counts = new Float64Array(256);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  const entries: LegendEntry[] = [];
  for (let index = 0; index < 255; index++) {
    if (counts[index] === 0) continue;
    entries.push({
      index,
      name: classes[index] ?? `class ${index}`,
      color: palette[index] ?? [0, 0, 0],
      share: counts[index]! / labels.length,
    });
  }
  return entries;
}

/** The image with class colours blended in (`alpha` of colour); ignored pixels keep the image. */
export function blendLabels(
  image: RgbImageData,
  labels: Uint8Array,
  palette: readonly Rgb[],
  alpha = 0.5,
): Uint8Array {
  const { width, height, data } = image;
  if (labels.length !== width * height) {
    throw new RangeError(`blendLabels: ${labels.length} labels for a ${width}x${height} image`);
  }
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < labels.length; p++) {
    const label = labels[p]!;
    const color = label === 255 ? undefined : palette[label];
    for (let c = 0; c < 3; c++) {
      const pixel = data[p * 3 + c]!;
      out[p * 3 + c] = color ? Math.round((1 - alpha) * pixel + alpha * color[c]!) : pixel;
    }
  }
  return out;
}

export interface OverlayLayout {
  width: number;
  height: number;
  legendTop: number;
  columns: number;
  rows: number;
}

/** The canvas: the image on top (left-aligned), the legend in rows of columns below it. */
export function overlayLayout(imageWidth: number, imageHeight: number, entryCount: number): OverlayLayout {
  const width = Math.max(imageWidth, MIN_WIDTH);
  const columns = Math.max(1, Math.floor((width - 2 * PADDING) / COLUMN_WIDTH));
  const rows = Math.max(1, Math.ceil(entryCount / columns));
  return {
    width,
    height: imageHeight + rows * ROW_HEIGHT + 2 * PADDING,
    legendTop: imageHeight,
    columns,
    rows,
  };
}

function legendSvg(layout: OverlayLayout, entries: readonly LegendEntry[], withText: boolean): string {
  const items = entries.map((entry, i) => {
    const x = PADDING + (i % layout.columns) * COLUMN_WIDTH;
    const y = layout.legendTop + PADDING + Math.floor(i / layout.columns) * ROW_HEIGHT;
    const [r, g, b] = entry.color;
    const swatch = `<rect x="${x}" y="${y + 3}" width="${SWATCH}" height="${SWATCH}" fill="rgb(${r},${g},${b})" stroke="#333" stroke-width="1"/>`;
    const label = `${entry.name} ${(entry.share * 100).toFixed(1)}%`;
    const text = withText
      ? `<text x="${x + SWATCH + 5}" y="${y + 13}" font-family="${FONT_FAMILY}" font-size="11" fill="#111">${escapeXml(label)}</text>`
      : '';
    return swatch + text;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">${items.join('')}</svg>`;
}

/**
 * The overlay PNG: the image blended with its predicted class colours, with a legend of the
 * classes present (colour, name, share of pixels) below it.
 */
export async function renderOverlay(
  image: RgbImageData,
  labels: Uint8Array,
  classes: readonly string[],
  palette: readonly Rgb[],
  alpha = 0.5,
): Promise<Buffer> {
  const blended = blendLabels(image, labels, palette, alpha);
  const entries = legendEntries(labels, classes, palette);
  const layout = overlayLayout(image.width, image.height, entries.length);
  const canvas = new Uint8Array(layout.width * layout.height * 4).fill(255);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const src = (y * image.width + x) * 3;
      const dst = (y * layout.width + x) * 4;
      canvas[dst] = blended[src]!;
      canvas[dst + 1] = blended[src + 1]!;
      canvas[dst + 2] = blended[src + 2]!;
    }
  }
  return compositeSvgToPng(
    canvas,
    layout.width,
    layout.height,
    legendSvg(layout, entries, true),
    legendSvg(layout, entries, false),
  );
}
