// The inference form (whole image, sliding window, multi-scale + flip) into @semseg/engine's
// InferenceOptions, as `semseg predict`'s flags are; and the tiling of images too large to run whole.
import type { InferenceOptions } from '@semseg/engine';

export interface InferenceForm {
  mode: 'whole' | 'slide';
  crop: number;
  stride: number;
  /** Comma-separated scales, e.g. "0.75,1,1.25". */
  scales: string;
  flip: boolean;
}

export const DEFAULT_INFERENCE: InferenceForm = {
  mode: 'whole',
  crop: 512,
  stride: 341,
  scales: '1',
  flip: false,
};

/** Whole-image inference above this many pixels on the longer side runs tiled instead. */
export const WHOLE_IMAGE_LIMIT = 1024;

export type InferenceSettings = Omit<InferenceOptions, 'normalization'> & {
  /** What the page tells the user about how it ran (a tiled image says so). */
  description: string;
};

export function parseScales(text: string): number[] | string {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const scales = parts.map(Number);
  if (scales.length === 0 || scales.some((s) => !Number.isFinite(s) || s <= 0 || s > 4))
    return `scales must be numbers in (0, 4], separated by commas (got "${text}")`;
  return scales;
}

/** The engine's options for an image of this size, or the form's errors. */
export function inferenceSettings(
  form: InferenceForm,
  image: { width: number; height: number },
): InferenceSettings | { errors: string[] } {
  const errors: string[] = [];
  const scales = parseScales(form.scales);
  if (typeof scales === 'string') errors.push(scales);
  if (!Number.isInteger(form.crop) || form.crop < 32 || form.crop > 2048)
    errors.push('crop must be a whole number of pixels from 32 to 2048');
  if (!Number.isInteger(form.stride) || form.stride < 1 || form.stride > form.crop)
    errors.push('stride must be a whole number from 1 to the crop');
  if (errors.length > 0 || typeof scales === 'string') return { errors };
  const views = `${scales.length > 1 ? `scales ${scales.join(', ')}` : `scale ${scales[0]}`}${form.flip ? ' + flip' : ''}`;
  const longest = Math.max(image.width, image.height) * Math.max(...scales);
  const tiled = form.mode === 'whole' && longest > WHOLE_IMAGE_LIMIT;
  const mode = tiled ? 'slide' : form.mode;
  const description =
    mode === 'slide'
      ? `sliding window ${form.crop}×${form.crop}, stride ${form.stride}, ${views}${tiled ? ` (tiled: over ${WHOLE_IMAGE_LIMIT} px for whole-image inference)` : ''}`
      : `whole image, ${views}`;
  return {
    mode,
    crop: [form.crop, form.crop],
    stride: [form.stride, form.stride],
    scales,
    flip: form.flip,
    description,
  };
}
