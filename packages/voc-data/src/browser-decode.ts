import { DatasetError } from './errors.js';

/** An RGB image as decoded bytes, HWC. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Drops the alpha channel of RGBA pixels (canvas ImageData) into a new HWC RGB array. */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): Uint8Array {
  if (rgba.length !== width * height * 4) {
    throw new RangeError(`rgbaToRgb: ${rgba.length} bytes for a ${width}x${height} RGBA image`);
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p];
    rgb[q + 1] = rgba[p + 1];
    rgb[q + 2] = rgba[p + 2];
  }
  return rgb;
}

/**
 * Decodes an image (JPEG, PNG, WebP...) with the platform's decoder: `createImageBitmap` and an
 * `OffscreenCanvas`, so it runs in browsers and Web Workers. Colour-space conversion and alpha
 * premultiplication are turned off to stay close to the file's pixels (browsers may still differ
 * from libjpeg by a level or so). Label PNGs must go through `decodeLabelPng`, never this: a canvas
 * turns palette indices into colours.
 */
export async function decodeImageWithPlatform(
  source: Blob | ArrayBuffer | Uint8Array,
  file: string,
): Promise<RgbImage> {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') {
    throw new DatasetError(
      file,
      'this platform has no createImageBitmap/OffscreenCanvas; in Node use @semseg/voc-data/node',
    );
  }
  const blob = source instanceof Blob ? source : new Blob([source as BlobPart]);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (error) {
    throw new DatasetError(file, `corrupt or unreadable image (${(error as Error).message})`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  if (!context) throw new DatasetError(file, 'no 2D canvas context to decode into');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const pixels = context.getImageData(0, 0, width, height).data;
  return { width, height, data: rgbaToRgb(pixels, width, height) };
}
