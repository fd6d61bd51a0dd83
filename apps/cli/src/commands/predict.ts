import { join } from 'node:path';
import { type Prediction, refineWithCrf } from '@semseg/engine';
import { completePalette } from '@semseg/voc-data';
import { readImageFile } from '@semseg/voc-data/node';
import { encodeNpy } from '@semseg/weights';
import { Command } from 'commander';
import type { BackendChoice } from '../backends/index.js';
import { UsageError } from '../errors.js';
import { writeOutput } from '../io/files.js';
import { collectImages, outputStem } from '../io/image-inputs.js';
import { labelPng } from '../io/label-png.js';
import '../models.js';
import { renderOverlay } from '../render/overlay.js';
import { activateBackend, backendOption, describeSelection } from './backend-option.js';
import { collect, loadModels, predictWith, readProposals } from './ensemble.js';
import { type InferenceFlags, addInferenceOptions, inferenceSettings } from './inference-options.js';

interface PredictFlags extends InferenceFlags {
  checkpoint: string[];
  proposals?: string;
  out: string;
  overlay?: boolean;
  probs?: boolean;
  backend: BackendChoice;
  quiet?: boolean;
}

async function predict(inputs: string[], flags: PredictFlags): Promise<void> {
  if (inputs.length === 0) throw new UsageError('name at least one image or folder');
  const { inference, crf } = inferenceSettings(flags);
  const images = await collectImages(inputs);
  const backend = await activateBackend(flags.backend);
  const proposals = await readProposals(flags.proposals);
  const models = await loadModels(flags.checkpoint);
  const { meta } = models;
  if (!flags.quiet) process.stdout.write(`backend: ${describeSelection(backend)}\n`);
  const palette = completePalette(meta.palette);
  try {
    for (const file of images) {
      const image = await readImageFile(file);
      const start = performance.now();
      const prediction: Prediction = await predictWith(models, image, inference, proposals?.(file) ?? null);
      let labels = prediction.labels;
      let probabilities = prediction.probabilities;
      if (crf) {
        const refined = refineWithCrf(image, prediction, crf);
        labels = refined.labels;
        probabilities = refined.q;
      }
      const stem = outputStem(file);
      const written = [join(flags.out, `${stem}.png`)];
      await writeOutput(written[0]!, labelPng(labels, image.width, image.height, meta.palette));
      if (flags.overlay) {
        written.push(join(flags.out, `${stem}.overlay.png`));
        await writeOutput(written.at(-1)!, await renderOverlay(image, labels, meta.classes, palette));
      }
      if (flags.probs) {
        written.push(join(flags.out, `${stem}.npy`));
        await writeOutput(
          written.at(-1)!,
          encodeNpy(probabilities, [image.height, image.width, prediction.numClasses]),
        );
      }
      const ms = performance.now() - start;
      if (!flags.quiet) process.stdout.write(`${file} -> ${written.join(', ')} (${ms.toFixed(0)} ms)\n`);
    }
  } finally {
    models.dispose();
  }
}

export function predictCommand(): Command {
  const command = new Command('predict')
    .summary('segment images with a checkpoint: label PNGs, overlays, probabilities')
    .description(
      'Writes <out>/<name>.png for each image: an 8-bit palette PNG whose pixel values are class ' +
        'indices (VOC colour map). --overlay adds <name>.overlay.png (the image blended with the class ' +
        'colours, and a legend of the classes present); --probs adds <name>.npy, float32 H x W x C ' +
        'probabilities (the CRF marginals with --crf). Folders are read for images (not recursively).',
    )
    .argument('<inputs...>', 'images or folders of images')
    .requiredOption(
      '--checkpoint <dir>',
      'checkpoint folder (or its model.json); repeat for an ensemble (mean of probabilities)',
      collect,
    )
    .option(
      '--proposals <boxes.json|auto>',
      'proposal-wise inference: boxes per image (name -> [[x0, y0, x1, y1]]) or auto (connected components)',
    )
    .requiredOption('--out <dir>', 'output folder (created)')
    .option('--overlay', 'also write the image blended with the colours, with a legend')
    .option('--probs', 'also write the probabilities as .npy (H x W x C float32)')
    .addOption(backendOption())
    .option('--quiet', 'print nothing per image');
  addInferenceOptions(command);
  command.addHelpText(
    'after',
    '\nExample:\n  semseg predict --checkpoint runs/a/final photos/ --out predictions --overlay --crf',
  );
  command.action((inputs: string[]) => predict(inputs, command.opts<PredictFlags>()));
  return command;
}
