import { InputError } from './errors.js';

/** Drops the alpha channel of RGBA bytes (e.g. ImageData.data) for addPairwiseBilateral's `rgb`. */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  if (!(rgba instanceof Uint8Array || rgba instanceof Uint8ClampedArray)) {
    throw new InputError('rgba', 'must be a Uint8Array or Uint8ClampedArray');
  }
  if (rgba.length % 4 !== 0) throw new InputError('rgba', `has length ${rgba.length}, not a multiple of 4`);
  const pixels = rgba.length / 4;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    rgb[i * 3] = rgba[i * 4];
    rgb[i * 3 + 1] = rgba[i * 4 + 1];
    rgb[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return rgb;
}
