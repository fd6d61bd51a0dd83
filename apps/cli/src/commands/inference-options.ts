import type { CrfOption, InferenceOptions } from '@semseg/engine';
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
      `dense CRF after the network: a preset (${CRF_PRESET_NAMES.join(', ')}; default deeplabV1), JSON or a JSON file`,
    )
    .addOption(option('--window-batch <n>', 'slide: windows per forward pass', parsePositiveInt).default(4));
}

/** The engine's inference options (the checkpoint supplies the normalisation) and the CRF choice. */
export function inferenceSettings(flags: InferenceFlags): {
  inference: Omit<InferenceOptions, 'normalization'>;
  crf: CrfOption | null;
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
    crf: flags.crf === undefined ? null : parseCrfOption(flags.crf),
  };
}
