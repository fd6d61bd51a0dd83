import { type ArchitectureSpec, listModels } from '@semseg/core';
import { type CrfOption, DEFAULT_CRF_PRESET, type InferenceOptions, crfPresetFor } from '@semseg/engine';
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { option } from '../options/commander.js';
import { CRF_PRESET_NAMES, parseCrfOption } from '../options/crf.js';
import { parsePositiveInt, parseScales, parseSize } from '../options/numbers.js';

export interface InferenceFlags {
  mode: 'whole' | 'slide';
  crop?: [number, number];
  stride?: [number, number];
  scales: number[];
  flip?: boolean;
  crf?: string | true;
  windowBatch: number;
}

/** --mode/--crop/--stride/--scales/--flip/--crf, shared by eval and predict. */
export function addInferenceOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--mode <mode>', 'whole image, or sliding windows (slide)')
        .choices(['whole', 'slide'])
        .default('whole'),
    )
    .addOption(option('--crop <size>', 'slide: window size, 512 or HxW (default 512)', parseSize))
    .addOption(option('--stride <size>', 'slide: window stride (default two thirds of --crop)', parseSize))
    .addOption(
      option('--scales <list>', 'scales to average, e.g. 0.5,0.75,1,1.25', parseScales).default([1], '1'),
    )
    .option('--flip', 'also average the horizontally flipped image')
    .option(
      '--crf [preset|json]',
      `dense CRF after the network: a preset (${CRF_PRESET_NAMES.join(', ')}), JSON or a JSON file; alone, the checkpoint's model's preset (the first checkpoint's for an ensemble), else ${DEFAULT_CRF_PRESET}`,
    )
    .addOption(option('--window-batch <n>', 'slide: windows per forward pass', parsePositiveInt).default(4));
}

/** The CRF that runs, and a few words on where its settings come from (printed before it runs). */
export interface CrfChoice {
  option: CrfOption;
  description: string;
}

/**
 * The CRF a checkpoint's model gets: a bare `--crf` is the preset its architecture declares
 * (`crfPresetFor`), else the one default; a named preset or settings are taken as they are.
 */
export type CrfForModel = (architecture: ArchitectureSpec) => CrfChoice | null;

function crfChoice(flag: string | true | undefined): CrfForModel {
  if (flag === undefined) return () => null;
  if (flag === true) {
    return (architecture) => {
      const preset = crfPresetFor(architecture);
      const declared = listModels().find((m) => m.name === architecture.name)?.crfPreset !== undefined;
      return {
        option: preset,
        description: declared
          ? `${preset}, the preset ${architecture.name} declares`
          : `${preset}, the default (${architecture.name} declares none)`,
      };
    };
  }
  // Parsed now, so that a bad value fails before any model is loaded.
  const option = parseCrfOption(flag);
  const description = typeof option === 'string' ? option : 'settings from --crf';
  return () => ({ option, description });
}

/** The engine's inference options (the checkpoint supplies the normalisation) and the CRF choice. */
export function inferenceSettings(flags: InferenceFlags): {
  inference: Omit<InferenceOptions, 'normalization'>;
  crf: CrfForModel;
} {
  if (flags.mode !== 'slide' && (flags.crop || flags.stride)) {
    throw new UsageError('--crop and --stride apply to --mode slide');
  }
  if (flags.crop && flags.stride && (flags.stride[0] > flags.crop[0] || flags.stride[1] > flags.crop[1])) {
    throw new UsageError('--stride larger than --crop would skip pixels');
  }
  return {
    inference: {
      mode: flags.mode,
      ...(flags.crop ? { crop: flags.crop } : {}),
      ...(flags.stride ? { stride: flags.stride } : {}),
      scales: flags.scales,
      flip: Boolean(flags.flip),
      batchSize: flags.windowBatch,
    },
    crf: crfChoice(flags.crf),
  };
}
