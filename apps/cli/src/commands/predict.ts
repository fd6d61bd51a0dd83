import { join } from 'node:path';
import { type Prediction, refineWithCrf } from '@semseg/engine';
import { ReplicaPool, effectiveThreads } from '@semseg/engine/node';
import { completePalette } from '@semseg/voc-data';
import { readImageFile } from '@semseg/voc-data/node';
import { encodeNpy } from '@semseg/weights';
import { Command } from 'commander';
import type { BackendChoice } from '../backends/index.js';
import { EXIT_FAILURE, UsageError, describeFailure } from '../errors.js';
import { collectImages, outputStem } from '../io/image-inputs.js';
import { labelPng } from '../io/label-png.js';
import '../models.js';
import { threadsOption } from '../options/threads.js';
import { renderOverlay } from '../render/overlay.js';
import { activateBackend, backendOption, describeSelection } from './backend-option.js';
import { collect, predictWith, readProposals } from './ensemble.js';
import { type InferenceFlags, addInferenceOptions, inferenceSettings } from './inference-options.js';
import { checkOutputs, writeAtomically } from './predict-outputs.js';
import { replicaPlugins } from './replica-plugins.js';
import { type RuntimeFlags, describeRuntime, loadModelsOn, runtimeOption } from './runtime-option.js';

interface PredictFlags extends InferenceFlags, RuntimeFlags {
  checkpoint: string[];
  proposals?: string;
  out: string;
  overlay?: boolean;
  probs?: boolean;
  overwrite?: boolean;
  backend: BackendChoice;
  quiet?: boolean;
}

/** The files an image gives: its label PNG, and the overlay and probabilities when asked for. */
function outputsOf(file: string, flags: PredictFlags): string[] {
  const stem = join(flags.out, outputStem(file));
  return [
    `${stem}.png`,
    ...(flags.overlay ? [`${stem}.overlay.png`] : []),
    ...(flags.probs ? [`${stem}.npy`] : []),
  ];
}

async function predict(inputs: string[], flags: PredictFlags): Promise<void> {
  if (inputs.length === 0) throw new UsageError('name at least one image or folder');
  const { inference, crf: crfFor } = inferenceSettings(flags);
  const images = await collectImages(inputs);
  const overwrite = Boolean(flags.overwrite);
  await checkOutputs(
    images,
    images.flatMap((input) => outputsOf(input, flags).map((path) => ({ input, path }))),
    overwrite,
  );
  const backend = await activateBackend(flags.backend);
  const proposals = await readProposals(flags.proposals);
  const models = await loadModelsOn(flags, flags.checkpoint);
  const { meta } = models;
  // An ensemble's CRF is the first checkpoint's model's.
  const crf = crfFor(meta.architecture);
  if (!flags.quiet) {
    process.stdout.write(`backend: ${describeSelection(backend)}\n`);
    if (flags.runtime !== 'tfjs') process.stdout.write(`runtime: ${describeRuntime(flags)}\n`);
    if (crf) process.stdout.write(`crf: ${crf.description}\n`);
  }
  const palette = completePalette(meta.palette);
  let failed = 0;
  // One tfjs checkpoint: images over --threads replica threads (the CRF in the same thread), as
  // many in flight as threads; outputs are the single-thread ones.
  const threads =
    flags.runtime === 'tfjs' && flags.checkpoint.length === 1 && !proposals
      ? Math.min(effectiveThreads(flags.threads), images.length)
      : 1;
  const pool =
    threads > 1
      ? await ReplicaPool.start({
          threads,
          model: models.model,
          architecture: meta.architecture,
          plugins: replicaPlugins(),
        })
      : null;
  try {
    const one = async (file: string): Promise<void> => {
      let image: Awaited<ReturnType<typeof readImageFile>>;
      try {
        image = await readImageFile(file);
      } catch (error) {
        // An unreadable image is reported and skipped; the batch goes on.
        const { line, unexpected } = describeFailure(error);
        if (unexpected) throw error;
        process.stderr.write(`semseg: ${line}\n`);
        failed++;
        return;
      }
      const start = performance.now();
      let labels: Uint8Array;
      let probabilities: Float32Array;
      let numClasses: number;
      if (pool) {
        const reply = await pool.predict(
          image,
          { ...inference, normalization: models.normalization },
          crf?.option ?? null,
          { probabilities: Boolean(flags.probs) },
        );
        labels = reply.crfLabels ?? reply.labels;
        probabilities = reply.q ?? reply.probabilities ?? new Float32Array(0);
        numClasses = reply.numClasses;
      } else {
        const prediction: Prediction = await predictWith(models, image, inference, proposals?.(file) ?? null);
        labels = prediction.labels;
        probabilities = prediction.probabilities;
        numClasses = prediction.numClasses;
        if (crf) {
          const refined = refineWithCrf(image, prediction, crf.option);
          labels = refined.labels;
          probabilities = refined.q;
        }
      }
      const written = outputsOf(file, flags);
      const [labelPath, ...extra] = written;
      await writeAtomically(labelPath!, labelPng(labels, image.width, image.height, meta.palette), overwrite);
      let next = 0;
      if (flags.overlay)
        await writeAtomically(
          extra[next++]!,
          await renderOverlay(image, labels, meta.classes, palette),
          overwrite,
        );
      if (flags.probs)
        await writeAtomically(
          extra[next++]!,
          encodeNpy(probabilities, [image.height, image.width, numClasses]),
          overwrite,
        );
      const ms = performance.now() - start;
      if (!flags.quiet) process.stdout.write(`${file} -> ${written.join(', ')} (${ms.toFixed(0)} ms)\n`);
    };
    let next = 0;
    const runner = async () => {
      while (next < images.length) await one(images[next++]!);
    };
    await Promise.all(Array.from({ length: threads }, runner));
  } finally {
    await pool?.close();
    models.dispose();
  }
  if (failed > 0) {
    if (!flags.quiet)
      process.stdout.write(
        `${failed} of ${images.length} images could not be read; the others were written\n`,
      );
    process.exitCode = EXIT_FAILURE;
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
    .requiredOption(
      '--out <dir>',
      'output folder (created); never written over an input, nor over an existing file without --overwrite',
    )
    .option('--overwrite', 'replace existing files in --out (never an input image)')
    .option('--overlay', 'also write the image blended with the colours, with a legend')
    .option('--probs', 'also write the probabilities as .npy (H x W x C float32)')
    .addOption(backendOption())
    .addOption(runtimeOption())
    .addOption(threadsOption())
    .option('--quiet', 'print nothing per image');
  addInferenceOptions(command);
  command.addHelpText(
    'after',
    '\nExample:\n  semseg predict --checkpoint runs/a/final photos/ --out predictions --overlay --crf',
  );
  command.action((inputs: string[]) => predict(inputs, command.opts<PredictFlags>()));
  return command;
}
