// Reading the user's image: check it is one, decode it with the browser, and scale down only images
// beyond what the page can hold (H x W x C probabilities and the CRF grow with the pixel count):
// large ones run tiled (inference-settings.ts), at their own size.
import { type RgbImage, decodeImageWithPlatform, rgbaToRgb } from '@semseg/voc-data';
import { requireImage } from './file-types.js';

/** Images are processed at most this many pixels on their longer side (21-class probabilities
 * of 2048 x 2048 are 352 MB). */
export const MAX_SIDE = 2048;

export interface LoadedImage {
  image: RgbImage;
  originalSize?: { width: number; height: number };
}

/** The size an image is processed at: unchanged when it fits, else scaled to MAX_SIDE. */
export function processingSize(
  width: number,
  height: number,
  maxSide = MAX_SIDE,
): { width: number; height: number } {
  const longer = Math.max(width, height);
  if (longer <= maxSide) return { width, height };
  const scale = maxSide / longer;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export async function loadImage(blob: Blob, name: string): Promise<LoadedImage> {
  requireImage(new Uint8Array(await blob.slice(0, 16).arrayBuffer()), name);
  const decoded = await decodeImageWithPlatform(blob, name);
  const size = processingSize(decoded.width, decoded.height);
  if (size.width === decoded.width && size.height === decoded.height) return { image: decoded };
  // Downscale with the browser's filtered resampling (a bilinear resize would alias).
  const canvas = new OffscreenCanvas(decoded.width, decoded.height);
  const context = canvas.getContext('2d')!;
  const rgba = new Uint8ClampedArray(decoded.width * decoded.height * 4);
  for (let p = 0, q = 0; q < decoded.data.length; p += 4, q += 3) {
    rgba[p] = decoded.data[q]!;
    rgba[p + 1] = decoded.data[q + 1]!;
    rgba[p + 2] = decoded.data[q + 2]!;
    rgba[p + 3] = 255;
  }
  context.putImageData(new ImageData(rgba, decoded.width, decoded.height), 0, 0);
  const small = new OffscreenCanvas(size.width, size.height);
  const smallContext = small.getContext('2d')!;
  smallContext.imageSmoothingQuality = 'high';
  smallContext.drawImage(canvas, 0, 0, size.width, size.height);
  const pixels = smallContext.getImageData(0, 0, size.width, size.height).data;
  return {
    image: { width: size.width, height: size.height, data: rgbaToRgb(pixels, size.width, size.height) },
    originalSize: { width: decoded.width, height: decoded.height },
  };
}
