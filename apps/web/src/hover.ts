export interface LabelMap {
  width: number;
  height: number;
  numClasses: number;
  labels: Uint8Array;
  /** H x W x C, row-major, class fastest. */
  probabilities: Float32Array;
}

export interface PixelReading {
  x: number;
  y: number;
  classIndex: number;
  className: string;
  /** The probability of the pixel's class (the CRF's marginal when the map is the CRF's). */
  probability: number;
}

/**
 * The image pixel under a pointer, from the element's box (getBoundingClientRect) and the pointer's
 * client position; null outside the image. The element shows the whole image stretched to its box.
 */
export function pointerToPixel(
  box: { left: number; top: number; width: number; height: number },
  clientX: number,
  clientY: number,
  imageWidth: number,
  imageHeight: number,
): { x: number; y: number } | null {
  if (box.width <= 0 || box.height <= 0) return null;
  const u = (clientX - box.left) / box.width;
  const v = (clientY - box.top) / box.height;
  if (u < 0 || v < 0 || u >= 1 || v >= 1) return null;
  return {
    x: Math.min(imageWidth - 1, Math.floor(u * imageWidth)),
    y: Math.min(imageHeight - 1, Math.floor(v * imageHeight)),
  };
}

/** The class and probability at pixel (x, y). */
export function readPixel(map: LabelMap, classes: readonly string[], x: number, y: number): PixelReading {
  if (!(x >= 0 && y >= 0 && x < map.width && y < map.height && Number.isInteger(x) && Number.isInteger(y))) {
    throw new RangeError(`pixel (${x}, ${y}) is outside the ${map.width}x${map.height} image`);
  }
  const p = y * map.width + x;
  const classIndex = map.labels[p]!;
  return {
    x,
    y,
    classIndex,
    className: classes[classIndex] ?? `class ${classIndex}`,
    probability: map.probabilities[p * map.numClasses + classIndex] ?? Number.NaN,
  };
}
