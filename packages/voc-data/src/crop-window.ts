import { IGNORE_INDEX } from './classes.js';
import { type RandomSource, randomInt } from './random.js';

/** mmsegmentation's RandomCrop tries this many windows when `catMaxRatio` rejects one. */
export const CROP_ATTEMPTS = 10;

/**
 * Places a `cropHeight x cropWidth` window on a `height x width` image (padded at the bottom/right
 * when smaller): top, then left, drawn uniformly. With `catMaxRatio < 1`, as mmsegmentation's
 * `RandomCrop(cat_max_ratio=...)`, a window where one class covers `catMaxRatio` or more of the
 * labelled pixels (or only one class shows) is redrawn, up to 10 tries, keeping the last.
 * `labelAt(y, x)` reads the label inside the image.
 */
export function chooseCropWindow(
  height: number,
  width: number,
  cropHeight: number,
  cropWidth: number,
  random: RandomSource,
  catMaxRatio: number,
  labelAt: (y: number, x: number) => number,
): { top: number; left: number } {
  const draw = () => ({
    top: randomInt(random, Math.max(height, cropHeight) - cropHeight + 1),
    left: randomInt(random, Math.max(width, cropWidth) - cropWidth + 1),
  });
  let window = draw();
  if (catMaxRatio >= 1) return window;
  const counts = new Uint32Array(256);
  for (let attempt = 1; attempt < CROP_ATTEMPTS; attempt++) {
    counts.fill(0);
    const bottom = Math.min(height, window.top + cropHeight);
    const right = Math.min(width, window.left + cropWidth);
    for (let y = window.top; y < bottom; y++)
      for (let x = window.left; x < right; x++) counts[labelAt(y, x)]++;
    let classes = 0;
    let labelled = 0;
    let largest = 0;
    for (let value = 0; value < 256; value++) {
      if (value === IGNORE_INDEX || counts[value] === 0) continue;
      classes++;
      labelled += counts[value];
      largest = Math.max(largest, counts[value]);
    }
    if (classes > 1 && largest / labelled < catMaxRatio) break;
    window = draw();
  }
  return window;
}
