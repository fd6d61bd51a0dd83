// The overlay both apps draw: the image with its class colours blended in and, below it, a legend
// of the classes present (swatch, name, share of pixels). One implementation on RGBA typed arrays,
// so `semseg predict --overlay` and the web page draw the same pixels; the CLI only encodes the PNG
// and rasterises the legend's text, the page only puts pixels on a canvas.
import { Raster } from './raster.js';
import type { Rgb } from './types.js';

/** An RGB image: H x W x 3 bytes, row-major. */
export interface RgbPixels {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

/** A class of the legend: its colour and how much of the image it covers. */
export interface ClassShare {
  index: number;
  name: string;
  color: Rgb;
  pixels: number;
  /** pixels / all pixels (ignored ones included), 0..1. */
  share: number;
}

const IGNORE = 255;

/**
 * The image with class colours laid over it, as RGBA (alpha 255): `opacity` 0 is the image, 1 the
 * colours only. Each channel is `round(pixel + (colour - pixel) * opacity)`. Pixels labelled 255
 * (ignore) or with no palette entry keep the image. Pass a complete palette (`completePalette`)
 * to colour classes beyond the checkpoint's list.
 */
export function blendLabels(
  image: RgbPixels,
  labels: Uint8Array,
  palette: readonly Rgb[],
  opacity = 0.5,
): Uint8ClampedArray<ArrayBuffer> {
  const { width, height, data } = image;
  if (labels.length !== width * height) {
    throw new RangeError(`blendLabels: ${labels.length} labels for a ${width}x${height} image`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(`blendLabels: ${data.length} bytes for a ${width}x${height} RGB image`);
  }
  const a = Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : 0;
  const out = new Uint8ClampedArray(labels.length * 4);
  for (let p = 0; p < labels.length; p++) {
    const label = labels[p]!;
    const color = label === IGNORE ? undefined : palette[label];
    for (let c = 0; c < 3; c++) {
      const pixel = data[p * 3 + c]!;
      out[p * 4 + c] = color ? Math.round(pixel + (color[c]! - pixel) * a) : pixel;
    }
    out[p * 4 + 3] = 255;
  }
  return out;
}

/**
 * Every class with its colour and share of the pixels, largest share first, then by index. The
 * named classes are all listed (absent ones with 0); a label beyond them (but not 255) is listed
 * as `class N` where it occurs.
 */
export function classShares(
  labels: Uint8Array,
  classes: readonly string[],
  palette: readonly Rgb[],
): ClassShare[] {
  const counts = new Float64Array(256);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  const rows: ClassShare[] = [];
  for (let index = 0; index < IGNORE; index++) {
    if (index >= classes.length && counts[index] === 0) continue;
    const color = palette[index];
    rows.push({
      index,
      name: classes[index] ?? `class ${index}`,
      color: color ? [color[0], color[1], color[2]] : [0, 0, 0],
      pixels: counts[index]!,
      share: labels.length > 0 ? counts[index]! / labels.length : 0,
    });
  }
  return rows.sort((a, b) => b.pixels - a.pixels || a.index - b.index);
}

/** The classes present in a label map, as the legend lists them (largest share first). */
export function legendEntries(
  labels: Uint8Array,
  classes: readonly string[],
  palette: readonly Rgb[],
): ClassShare[] {
  return classShares(labels, classes, palette).filter((row) => row.pixels > 0);
}

/** A share as the legend prints it: one decimal, "<0.1%" for a few pixels rather than "0.0%". */
export function formatShare(share: number): string {
  if (share === 0) return '0%';
  if (share < 0.001) return '<0.1%';
  return `${(share * 100).toFixed(1)}%`;
}

/** Legend geometry in pixels. */
export const LEGEND_GEOMETRY = {
  rowHeight: 18,
  swatch: 12,
  padding: 6,
  columnWidth: 132,
  /** From a swatch's left edge to its text's left edge, and from a row's top to the text's baseline. */
  textOffset: { x: 17, baseline: 13 },
  fontSize: 11,
} as const;

export interface OverlayLayout {
  width: number;
  height: number;
  legendTop: number;
  columns: number;
  rows: number;
}

/** The picture's size: the image on top (left-aligned), the legend in rows of columns below it. */
export function overlayLayout(imageWidth: number, imageHeight: number, entryCount: number): OverlayLayout {
  const { padding, columnWidth, rowHeight } = LEGEND_GEOMETRY;
  const width = Math.max(imageWidth, columnWidth + 2 * padding);
  const columns = Math.max(1, Math.floor((width - 2 * padding) / columnWidth));
  const rows = Math.max(1, Math.ceil(entryCount / columns));
  return {
    width,
    height: imageHeight + rows * rowHeight + 2 * padding,
    legendTop: imageHeight,
    columns,
    rows,
  };
}

/** A legend label for the platform's text renderer: `text` with its baseline's left end at (x, y). */
export interface LegendText {
  x: number;
  y: number;
  text: string;
  fontSize: number;
}

export interface OverlayPicture extends OverlayLayout {
  /** width x height x 4 bytes: the blended image, a white legend area and its swatches. */
  rgba: Uint8ClampedArray<ArrayBuffer>;
  entries: ClassShare[];
  /** The legend's labels ("person 37.5%"), to be drawn over `rgba` in dark grey (#111). */
  texts: LegendText[];
}

const SWATCH_BORDER: Rgb = [51, 51, 51];

/**
 * The overlay picture: the image blended with its class colours (`blendLabels`), and below it a
 * legend of the classes present: a swatch of each colour with a grey border, in rows of columns.
 * Text is the only part left to the caller (positions in `texts`).
 */
export function overlayPicture(
  image: RgbPixels,
  labels: Uint8Array,
  classes: readonly string[],
  palette: readonly Rgb[],
  opacity = 0.5,
): OverlayPicture {
  const blended = blendLabels(image, labels, palette, opacity);
  const entries = legendEntries(labels, classes, palette);
  const layout = overlayLayout(image.width, image.height, entries.length);
  const raster = new Raster(layout.width, layout.height);
  raster.putRgba(blended, image.width, 0, 0);
  const { padding, columnWidth, rowHeight, swatch, textOffset, fontSize } = LEGEND_GEOMETRY;
  const texts: LegendText[] = [];
  entries.forEach((entry, i) => {
    const x = padding + (i % layout.columns) * columnWidth;
    const y = layout.legendTop + padding + Math.floor(i / layout.columns) * rowHeight;
    raster.fillRect(x, y + 3, swatch, swatch, entry.color);
    raster.strokeRect(x, y + 3, swatch, swatch, SWATCH_BORDER);
    texts.push({
      x: x + textOffset.x,
      y: y + textOffset.baseline,
      text: `${entry.name} ${formatShare(entry.share)}`,
      fontSize,
    });
  });
  return { ...layout, rgba: raster.data, entries, texts };
}
