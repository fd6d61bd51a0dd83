import { generateSyntheticVoc, validate } from '@semseg/voc-data/node';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { option } from '../options/commander.js';
import { parsePositiveInt, parseUnitInterval } from '../options/numbers.js';

interface SynthFlags {
  count: number;
  seed: number;
  minSize: number;
  maxSize: number;
  classes: number;
  valFraction: number;
  layout: 'VOC2012' | 'VOCdevkit';
  sbd?: boolean;
}

async function synth(out: string, flags: SynthFlags): Promise<void> {
  if (flags.minSize > flags.maxSize)
    throw new UsageError(`--min-size ${flags.minSize} is above --max-size ${flags.maxSize}`);
  if (flags.minSize < 2) throw new UsageError('--min-size must be at least 2');
  if (flags.classes < 2 || flags.classes > 21)
    throw new UsageError('--classes must be in 2..21 (the VOC class names)');
  const result = await generateSyntheticVoc(out, {
    seed: flags.seed,
    count: flags.count,
    numClasses: flags.classes,
    minSize: flags.minSize,
    maxSize: flags.maxSize,
    valFraction: flags.valFraction,
    layout: flags.layout,
    sbd: Boolean(flags.sbd),
  });
  const splits = Object.entries(result.splits)
    .map(([name, ids]) => `${name} ${ids?.length ?? 0}`)
    .join(', ');
  process.stdout.write(`wrote ${result.ids.length} images to ${result.vocRoot} (${splits})\n`);
}

interface ValidateFlags {
  split?: string[];
  allowGray?: boolean;
}

async function validateRoot(root: string, flags: ValidateFlags): Promise<void> {
  const report = await validate(root, {
    ...(flags.split ? { splits: flags.split } : {}),
    allowGrayLabels: Boolean(flags.allowGray),
  });
  for (const problem of report.problems) process.stdout.write(`${problem.file}: ${problem.problem}\n`);
  const splits = Object.entries(report.splits)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  if (report.ok) {
    process.stdout.write(`${report.root}: ok, ${report.checked} samples checked (${splits})\n`);
    return;
  }
  const count = report.problems.length;
  throw new DatasetInvalid(
    `${report.root ?? root}: ${count} problem${count === 1 ? '' : 's'} found (listed above)`,
  );
}

class DatasetInvalid extends Error {
  readonly code = 'E_DATASET_INVALID';
}

export function dataCommand(): Command {
  const data = new Command('data').summary('write synthetic VOC-layout data; validate a dataset');
  data.addCommand(
    new Command('synth')
      .summary('write a seeded synthetic dataset in the VOC 2012 layout')
      .description(
        'Writes JPEGImages/*.jpg, SegmentationClass/*.png (palette PNGs, VOC colour map) and ' +
          'ImageSets/Segmentation/{train,val,trainval}.txt: coloured shapes of VOC classes on a ' +
          'textured background, with 255 (void) bands along the outlines. The same seed writes the same files.',
      )
      .argument('<out>', 'folder to write (created)')
      .addOption(option('--count <n>', 'number of images', parsePositiveInt).default(48))
      .addOption(option('--seed <n>', 'random seed', parsePositiveIntOrZero).default(0))
      .addOption(option('--min-size <px>', 'smallest side length', parsePositiveInt).default(64))
      .addOption(option('--max-size <px>', 'largest side length', parsePositiveInt).default(96))
      .addOption(
        option('--classes <n>', 'classes including background (2..21)', parsePositiveInt).default(21),
      )
      .addOption(option('--val-fraction <f>', 'share of images in val.txt', parseUnitInterval).default(0.25))
      .addOption(
        new Option('--layout <layout>', 'VOC2012 folder, or VOCdevkit/VOC2012 under <out>')
          .choices(['VOC2012', 'VOCdevkit'])
          .default('VOC2012'),
      )
      .option('--sbd', 'also write the SBD layout (SegmentationClassAug, train_aug.txt)')
      .action((out: string, flags: SynthFlags) => synth(out, flags)),
  );
  data.addCommand(
    new Command('validate')
      .summary('check a VOC-layout dataset and list every problem')
      .description(
        'Checks split lists, ids, images and labels (present, decodable, same size, palette-indexed, ' +
          'values that are classes or 255) and lists every problem, not only the first. Exits 1 when ' +
          'there is any.',
      )
      .argument('<root>', 'the VOC2012 folder or the VOCdevkit folder above it')
      .option('--split <name...>', 'splits to check (default: every list in ImageSets/Segmentation)')
      .option('--allow-gray', 'accept 8-bit greyscale label PNGs (the SBD release)')
      .action((root: string, flags: ValidateFlags) => validateRoot(root, flags)),
  );
  return data;
}

function parsePositiveIntOrZero(text: string): number {
  return text.trim() === '0' ? 0 : parsePositiveInt(text);
}
