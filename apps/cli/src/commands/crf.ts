import { runDenseCrf, unaryFromProbabilities } from '@semseg/crf';
import { DEFAULT_CRF_PRESET } from '@semseg/engine';
import { readImageFile } from '@semseg/voc-data/node';
import { decodeNpy, encodeNpy } from '@semseg/weights';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { readUserFile, writeOutput } from '../io/files.js';
import { labelPng } from '../io/label-png.js';
import { option } from '../options/commander.js';
import { CRF_PRESET_NAMES, crfSettingsFromFlags } from '../options/crf.js';
import { parseNonNegativeInt } from '../options/numbers.js';

interface CrfFlags {
  probs?: string;
  unary?: string;
  out: string;
  outQ?: string;
  preset?: string;
  gaussian?: string;
  bilateral?: string;
  iterations?: number;
}

async function runCrf(imagePath: string, flags: CrfFlags): Promise<void> {
  if ((flags.probs === undefined) === (flags.unary === undefined)) {
    throw new UsageError('give exactly one of --probs <p.npy> and --unary <u.npy>');
  }
  const settings = crfSettingsFromFlags(flags);
  const image = await readImageFile(imagePath);
  const arrayPath = (flags.probs ?? flags.unary)!;
  const array = decodeNpy(await readUserFile(arrayPath, '.npy file'), arrayPath);
  const [h, w, c] = array.shape;
  if (array.shape.length !== 3 || c === undefined) {
    throw new UsageError(`${arrayPath}: expected an H x W x C array, got shape (${array.shape.join(', ')})`);
  }
  if (h !== image.height || w !== image.width) {
    throw new UsageError(
      `${arrayPath}: shape (${array.shape.join(', ')}) does not match the image (${image.height} x ${image.width})`,
    );
  }
  if (c < 2 || c > 255) throw new UsageError(`${arrayPath}: ${c} classes; the CRF needs 2..255`);
  const unary = flags.probs ? unaryFromProbabilities(array.data, c) : array.data;
  const start = performance.now();
  const { q, labels } = runDenseCrf({ width: w, height: h, labels: c, unary, rgb: image.data }, settings);
  const seconds = (performance.now() - start) / 1000;
  await writeOutput(flags.out, labelPng(labels, w, h));
  if (flags.outQ) await writeOutput(flags.outQ, encodeNpy(q, [h, w, c]));
  process.stdout.write(
    `crf: ${w}x${h}, ${c} classes, ${settings.iterations} iterations in ${seconds.toFixed(2)} s -> ${flags.out}${flags.outQ ? `, ${flags.outQ}` : ''}\n`,
  );
}

export function crfCommand(): Command {
  return new Command('crf')
    .summary('dense CRF post-processing of saved probabilities or unaries')
    .description(
      'Runs the fully connected CRF (Krähenbühl & Koltun) on an image and a float32 H x W x C .npy ' +
        '(little-endian, C order, as numpy saves arr.astype(np.float32)): softmax probabilities ' +
        '(--probs, turned into -log p) or unary energies (--unary). Writes the MAP labels as a ' +
        'palette PNG (VOC colour map) and, with --out-q, the marginals Q as .npy.' +
        `Settings start from --preset (default ${DEFAULT_CRF_PRESET}, the default of every command; one of ${CRF_PRESET_NAMES.join(', ')}), ` +
        'then --gaussian, --bilateral and --iterations replace parts of it.',
    )
    .argument('<image>', 'the RGB image the probabilities belong to (JPEG, PNG, ...)')
    .option('--probs <file.npy>', 'softmax probabilities, H x W x C float32')
    .option('--unary <file.npy>', 'unary energies (-log p), H x W x C float32')
    .requiredOption('--out <labels.png>', 'where to write the labels (palette PNG)')
    .option('--out-q <q.npy>', 'also write the marginals Q (H x W x C float32)')
    .addOption(new Option('--preset <name>', 'start from these settings').choices(CRF_PRESET_NAMES))
    .option('--gaussian <pairs>', "smoothness kernel, e.g. 'sxy=3,compat=3'")
    .option('--bilateral <pairs>', "appearance kernel, e.g. 'sxy=80,srgb=13,compat=10' (vectors: sxy=80:60)")
    .addOption(option('--iterations <n>', 'mean-field iterations', parseNonNegativeInt))
    .addHelpText(
      'after',
      '\nExample:\n  semseg crf photo.jpg --probs photo.npy --out photo.crf.png --bilateral sxy=80,srgb=13,compat=10 --iterations 5',
    )
    .action((image: string, flags: CrfFlags) => runCrf(image, flags));
}
