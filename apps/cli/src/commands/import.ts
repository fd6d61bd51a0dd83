// `semseg import <file> --arch <name> --out <checkpoint>`: a foreign file (PyTorch .pth /
// .safetensors, Caffe .caffemodel) into our checkpoint, through the architecture's name maps.
import {
  CAFFE_VGG_NORMALIZATION,
  IMAGENET_NORMALIZATION,
  type Normalization,
  type Rgb,
  Rng,
  getModelDefinition,
  validateModelConfig,
} from '@semseg/core';
import { saveCheckpoint } from '@semseg/core/node';
import { candidateMaps, importWeights, numClassesInFile, readWeightsInput } from '@semseg/engine';
import { VOC_CLASSES, vocColorMap } from '@semseg/voc-data';
import { Command, Option } from 'commander';
import type { BackendChoice } from '../backends/index.js';
import { UsageError } from '../errors.js';
import { readJsonFile } from '../io/files.js';
import '../models.js';
import { activateBackend, backendOption, describeSelection } from './backend-option.js';

interface ImportFlags {
  arch: string;
  out: string;
  config?: string;
  classes?: string;
  palette?: string;
  allowMissing?: boolean;
  normalization?: string;
  format?: 'pytorch' | 'caffe';
  backend: BackendChoice;
}

/** Named normalisations for --normalization (a JSON object is accepted too). */
const NORMALIZATIONS: Record<string, Normalization> = {
  imagenet: IMAGENET_NORMALIZATION,
  'caffe-vgg': CAFFE_VGG_NORMALIZATION,
  'caffe-fcn': { mean: [122.67892, 116.66877, 104.00699], std: [1, 1, 1], scale: 255, channelOrder: 'bgr' },
  'caffe-deeplab': { mean: [122.675, 116.669, 104.008], std: [1, 1, 1], scale: 255, channelOrder: 'bgr' },
};

function parseNormalization(text: string): Normalization {
  const named = NORMALIZATIONS[text];
  if (named) return named;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(
      `--normalization takes ${Object.keys(NORMALIZATIONS).join(', ')} or JSON {"mean":[r,g,b],"std":[r,g,b],"scale":1|255,"channelOrder":"rgb"|"bgr"}`,
    );
  }
  const n = value as Partial<Normalization>;
  const triple = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number');
  if (
    !triple(n.mean) ||
    !triple(n.std) ||
    (n.scale !== 1 && n.scale !== 255) ||
    !['rgb', 'bgr'].includes(n.channelOrder ?? '')
  ) {
    throw new UsageError(
      `--normalization ${text}: needs mean and std (3 numbers each), scale 1 or 255, channelOrder rgb or bgr`,
    );
  }
  return n as Normalization;
}

function parseClasses(text: string, count: number): string[] {
  const names = text.split(',').map((s) => s.trim());
  if (names.length !== count || names.some((s) => s === '')) {
    throw new UsageError(`--classes names ${names.length} classes, the file holds ${count}`);
  }
  return names;
}

function parsePalette(text: string, count: number): Rgb[] {
  const colours = text.split(',').map((s) => s.trim());
  const palette = colours.map((c) => {
    const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
    if (!m) throw new UsageError(`--palette: '${c}' is not a colour like #ff8800`);
    return [1, 2, 3].map((i) => Number.parseInt(m[i]!, 16)) as Rgb;
  });
  if (palette.length !== count)
    throw new UsageError(`--palette has ${palette.length} colours, the file holds ${count} classes`);
  return palette;
}

async function importCommandAction(path: string, flags: ImportFlags): Promise<void> {
  const definition = getModelDefinition(flags.arch);
  const extra = flags.config ? await readJsonFile(flags.config, 'model config') : {};
  const normalizationOverride = flags.normalization ? parseNormalization(flags.normalization) : undefined;
  const backend = await activateBackend(flags.backend);
  const file = await readWeightsInput(path);
  try {
    let config = validateModelConfig(flags.arch, extra);
    let model = definition.create(config, { rng: new Rng(0) });
    // The file says how many classes it was trained for (score layers, classifier).
    const classCount = numClassesInFile(model, candidateMaps(model, definition, file, flags), file);
    if (classCount !== null && classCount !== model.numClasses) {
      model.dispose();
      config = validateModelConfig(flags.arch, { ...(extra as object), numClasses: classCount });
      model = definition.create(config, { rng: new Rng(0) });
    }
    try {
      const report = await importWeights(model, definition, file, {
        ...(flags.format ? { format: flags.format } : {}),
        allowMissing: flags.allowMissing ?? false,
      });
      const n = model.numClasses;
      const classes = flags.classes
        ? parseClasses(flags.classes, n)
        : n === VOC_CLASSES.length
          ? [...VOC_CLASSES]
          : Array.from({ length: n }, (_, i) => `class_${i}`);
      const voc = vocColorMap();
      const palette = flags.palette
        ? parsePalette(flags.palette, n)
        : Array.from({ length: n }, (_, i) => [...voc[i]!] as Rgb);
      const normalization = normalizationOverride ?? report.normalization;
      await saveCheckpoint(flags.out, model.stateDict(), {
        architecture: { name: flags.arch, config: (model.config ?? config) as Record<string, unknown> },
        classes,
        palette,
        normalization,
        training: null,
      });
      const left =
        report.missing.length > 0 ? `; ${report.missing.length} left as initialised (--allow-missing)` : '';
      process.stdout.write(
        `imported ${report.loaded.length} tensors from ${report.file} (${report.format}, ${report.map}) into ${flags.arch} with ${n} classes on ${describeSelection(backend)}${left}\n` +
          `normalization: ${normalization.channelOrder.toUpperCase()}, mean ${normalization.mean.join('/')}, std ${normalization.std.join('/')}, scale ${normalization.scale}${normalizationOverride ? ' (--normalization)' : " (the producer's)"}\n` +
          `checkpoint written to ${flags.out}\n`,
      );
    } finally {
      model.dispose();
    }
  } finally {
    file.close?.();
  }
}

export function importCommand(): Command {
  return new Command('import')
    .description(
      "Import trained weights from PyTorch (.pth, .safetensors) or Caffe (.caffemodel) into a checkpoint, through the architecture's name maps",
    )
    .argument('<file>', 'the weights file')
    .requiredOption('--arch <name>', 'registered architecture the file holds (see `semseg info`)')
    .requiredOption('--out <checkpoint>', 'checkpoint folder to write (nothing is written on error)')
    .option('--config <json file>', 'model config (the number of classes comes from the file)')
    .option('--classes <a,b,...>', 'class names (default: VOC names for 21 classes, else class_0...)')
    .option('--palette <#rrggbb,...>', 'one colour per class (default: the VOC colour map)')
    .option('--allow-missing', 'a backbone-only file: parameters it lacks stay as initialised')
    .option(
      '--normalization <name|json>',
      `override the producer's: ${Object.keys(NORMALIZATIONS).join(', ')}, or JSON`,
    )
    .addOption(
      new Option(
        '--format <producer>',
        'use the pytorch or caffe name maps (default: from the file)',
      ).choices(['pytorch', 'caffe']),
    )
    .addOption(backendOption())
    .action((path: string, flags: ImportFlags) => importCommandAction(path, flags));
}
