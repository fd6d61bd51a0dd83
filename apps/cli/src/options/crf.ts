import { readFileSync } from 'node:fs';
import { type CrfSettings, type PresetName, presets } from '@semseg/crf';
import { DEFAULT_CRF_PRESET } from '@semseg/engine';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { parseKeyValues, parseNonNegativeInt } from './numbers.js';

export const CRF_PRESET_NAMES = Object.keys(presets) as PresetName[];

const positive = z.number().positive();
const compat = z.union([
  z.number(),
  z.object({ diagonal: z.array(z.number()) }).strict(),
  z.object({ matrix: z.array(z.number()) }).strict(),
]);
const sxy = z.union([positive, z.tuple([positive, positive])]);
const crfSettingsSchema = z
  .object({
    gaussian: z.object({ sxy, compat }).strict(),
    bilateral: z
      .object({ sxy, srgb: z.union([positive, z.tuple([positive, positive, positive])]), compat })
      .strict(),
    iterations: z.number().int().min(0).max(1000),
  })
  .strict();

/** A preset name, written as in @semseg/crf (deeplabV1) or kebab-case (deeplab-v1), any case. */
export function crfPresetName(text: string): PresetName | undefined {
  const key = text.replace(/[-_]/g, '').toLowerCase();
  return CRF_PRESET_NAMES.find((name) => name.toLowerCase() === key);
}

function settingsFromJson(text: string, where: string): CrfSettings {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = crfSettingsSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`);
    throw new UsageError(`${where}: invalid CRF settings; ${issues.join('; ')}`);
  }
  return parsed.data as CrfSettings;
}

/**
 * `--crf` with no value is the model's declared preset (`modelPreset`, from `crfPresetFor`) or the
 * one default, DeepLab v1's; otherwise a preset name, inline JSON
 * (`{"gaussian":{...},"bilateral":{...},"iterations":10}`) or a JSON file with those settings.
 */
export function parseCrfOption(
  value: string | true,
  modelPreset: PresetName = DEFAULT_CRF_PRESET,
): PresetName | CrfSettings {
  if (value === true) return modelPreset;
  const preset = crfPresetName(value);
  if (preset) return preset;
  if (value.trim().startsWith('{')) return settingsFromJson(value, '--crf');
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch {
    throw new UsageError(
      `--crf '${value}' is neither a preset (${CRF_PRESET_NAMES.join(', ')}) nor a readable JSON file`,
    );
  }
  return settingsFromJson(text, value);
}

export interface CrfOverrides {
  preset?: string;
  gaussian?: string;
  bilateral?: string;
  iterations?: string | number;
}

/** A preset (default: the one default, DeepLab v1's) with pieces replaced by flags. */
export function crfSettingsFromFlags(flags: CrfOverrides): CrfSettings {
  const name = flags.preset === undefined ? DEFAULT_CRF_PRESET : crfPresetName(flags.preset);
  if (!name)
    throw new UsageError(`unknown CRF preset '${flags.preset}'; one of ${CRF_PRESET_NAMES.join(', ')}`);
  const base = presets[name];
  const gaussian = { ...base.gaussian } as { sxy: number | [number, number]; compat: number };
  const bilateral = { ...base.bilateral } as {
    sxy: number | [number, number];
    srgb: number | [number, number, number];
    compat: number;
  };
  if (flags.gaussian)
    Object.assign(gaussian, vectorFields(parseKeyValues(flags.gaussian, ['sxy', 'compat']), '--gaussian'));
  if (flags.bilateral) {
    Object.assign(
      bilateral,
      vectorFields(parseKeyValues(flags.bilateral, ['sxy', 'srgb', 'compat']), '--bilateral'),
    );
  }
  const iterations =
    flags.iterations === undefined
      ? base.iterations
      : typeof flags.iterations === 'number'
        ? flags.iterations
        : parseNonNegativeInt(flags.iterations);
  return settingsFromJson(JSON.stringify({ gaussian, bilateral, iterations }), 'CRF flags');
}

function vectorFields(values: Record<string, number | number[]>, flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (Array.isArray(value)) {
      const allowed = key === 'sxy' ? 2 : key === 'srgb' ? 3 : 1;
      if (value.length !== allowed) {
        throw new UsageError(
          `${flag}: ${key} takes 1${allowed > 1 ? ` or ${allowed}` : ''} value(s), got ${value.length}`,
        );
      }
    }
    out[key] = value;
  }
  return out;
}
