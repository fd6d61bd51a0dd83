import { decode, encode } from 'fast-png';
import { vocColorMap } from './colormap.js';
import { DatasetError } from './errors.js';
import type { Rgb } from './types.js';

/** A decoded label PNG: palette indices (or grey levels), never colours. */
export interface LabelPng {
  width: number;
  height: number;
  indices: Uint8Array;
  /** The PNG's palette, when it is palette-indexed. */
  palette: Rgb[] | undefined;
}

export interface DecodeLabelOptions {
  /**
   * Also accept 8-bit greyscale PNGs whose grey level is the class (the widely shared
   * SegmentationClassAug release is greyscale). Default false: VOC labels must be palette-indexed.
   */
  allowGray?: boolean;
  /** When given, every index must be below it or be 255. */
  numClasses?: number;
}

/** Unpacks 1/2/4-bit palette rows (PNG packs pixels big-endian within each byte, rows byte-aligned). */
function unpackIndices(data: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  if (depth === 8) return data;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = data[y * rowBytes + Math.floor(x / perByte)];
      const shift = 8 - depth * ((x % perByte) + 1);
      out[y * width + x] = (byte >> shift) & mask;
    }
  }
  return out;
}

/**
 * Decodes a label PNG keeping its palette indices (the VOC way: the index is the class, 255 the
 * void border). Pure JS (fast-png), so it runs in browsers and workers too. `file` names the
 * source in errors.
 */
export function decodeLabelPng(bytes: Uint8Array, file: string, options: DecodeLabelOptions = {}): LabelPng {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes, { checkCrc: true });
  } catch (error) {
    throw new DatasetError(file, `corrupt PNG (${(error as Error).message})`);
  }
  const isPalette = png.palette !== undefined && png.channels === 1;
  const isGray8 = png.palette === undefined && png.channels === 1 && png.depth === 8;
  if (!isPalette && !(options.allowGray && isGray8)) {
    const kind = png.palette ? 'palette' : `${png.channels}-channel ${png.depth}-bit`;
    throw new DatasetError(
      file,
      `label PNG is not palette-indexed (it is ${kind}${options.allowGray ? ', and not 8-bit greyscale either' : ''}); labels must be read as palette indices, never through RGB`,
    );
  }
  const expected = Math.ceil((png.width * png.depth) / 8) * png.height;
  if (png.data.length < (png.depth === 8 ? png.width * png.height : expected)) {
    throw new DatasetError(file, 'corrupt PNG (pixel data shorter than the header says)');
  }
  const indices = unpackIndices(png.data as Uint8Array, png.width, png.height, png.depth);
  if (options.numClasses !== undefined) checkLabelValues(indices, options.numClasses, file);
  const palette = png.palette?.map((entry) => [entry[0], entry[1], entry[2]] as Rgb);
  return { width: png.width, height: png.height, indices, palette };
}

/** Throws, naming the file, when a label holds a value that is neither a class (< numClasses) nor 255. */
export function checkLabelValues(indices: Uint8Array, numClasses: number, file: string): void {
  const seen = new Uint32Array(256);
  for (let i = 0; i < indices.length; i++) seen[indices[i]]++;
  const bad: string[] = [];
  for (let value = numClasses; value < 255; value++) {
    if (seen[value] > 0) bad.push(`${value} (${seen[value]} px)`);
  }
  if (bad.length > 0) {
    throw new DatasetError(
      file,
      `label holds index ${bad.join(', ')}, neither a class (0..${numClasses - 1}) nor 255 (ignore)`,
    );
  }
}

/** Encodes class indices as an 8-bit palette PNG (the VOC colour map unless a palette is given). */
export function encodeLabelPng(
  indices: Uint8Array,
  width: number,
  height: number,
  palette: readonly Rgb[] = vocColorMap(256),
): Uint8Array {
  if (indices.length !== width * height) {
    throw new RangeError(`encodeLabelPng: ${indices.length} indices for a ${width}x${height} image`);
  }
  return encode({ width, height, data: indices, depth: 8, channels: 1, palette: palette.map((c) => [...c]) });
}
