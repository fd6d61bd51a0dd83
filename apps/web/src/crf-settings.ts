// The CRF parameters the page lets a user edit: a preset's numbers as a flat form, checked before
// they go to the worker so that a bad field gets a message next to the CRF panel.
import { type CrfSettings, type PresetName, presets } from '@semseg/crf';

export interface CrfForm {
  iterations: number;
  gaussianSxy: number;
  gaussianCompat: number;
  bilateralSxy: number;
  bilateralSrgb: number;
  bilateralCompat: number;
}

export const CRF_PRESET_NAMES = Object.keys(presets) as PresetName[];

/** The default for this page: DeconvNet's short-range kernel suits small images. */
export const DEFAULT_CRF_PRESET: PresetName = 'deconvNet';

function scalar(value: number | readonly number[]): number {
  return typeof value === 'number' ? value : value[0]!;
}

function potts(compat: unknown): number {
  if (typeof compat !== 'number') throw new TypeError('the page edits Potts compatibilities only');
  return compat;
}

export function formFromPreset(name: PresetName): CrfForm {
  const p: CrfSettings = presets[name];
  return {
    iterations: p.iterations,
    gaussianSxy: scalar(p.gaussian.sxy),
    gaussianCompat: potts(p.gaussian.compat),
    bilateralSxy: scalar(p.bilateral.sxy),
    bilateralSrgb: scalar(p.bilateral.srgb),
    bilateralCompat: potts(p.bilateral.compat),
  };
}

const LIMITS: Record<
  keyof CrfForm,
  { label: string; min: number; max: number; integer?: boolean; open?: boolean }
> = {
  iterations: { label: 'iterations', min: 1, max: 50, integer: true },
  gaussianSxy: { label: 'smoothness sxy', min: 0, max: 1000, open: true },
  gaussianCompat: { label: 'smoothness weight', min: 0, max: 100 },
  bilateralSxy: { label: 'appearance sxy', min: 0, max: 1000, open: true },
  bilateralSrgb: { label: 'appearance srgb', min: 0, max: 255, open: true },
  bilateralCompat: { label: 'appearance weight', min: 0, max: 100 },
};

/** Validated settings for @semseg/crf, or the list of fields that are wrong. */
export function settingsFromForm(form: CrfForm): { settings: CrfSettings } | { errors: string[] } {
  const errors: string[] = [];
  for (const key of Object.keys(LIMITS) as Array<keyof CrfForm>) {
    const { label, min, max, integer, open } = LIMITS[key];
    const value = form[key];
    const low = open ? value > min : value >= min;
    if (!Number.isFinite(value) || !low || value > max || (integer && !Number.isInteger(value))) {
      const range = `${open ? '>' : '>='} ${min} and <= ${max}`;
      errors.push(`${label} must be ${integer ? 'a whole number ' : 'a number '}${range} (got ${value})`);
    }
  }
  if (errors.length > 0) return { errors };
  return {
    settings: {
      iterations: form.iterations,
      gaussian: { sxy: form.gaussianSxy, compat: form.gaussianCompat },
      bilateral: { sxy: form.bilateralSxy, srgb: form.bilateralSrgb, compat: form.bilateralCompat },
    },
  };
}
