import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { listTrainPresets, validateModelConfig } from '@semseg/core';
import {
  type SettingsLayer,
  type TrainSettings,
  checkStagedStart,
  crfPresetFor,
  formatRecipe,
  parseTrainSettings,
  presetSettings,
  resolveTrainSettings,
} from '@semseg/engine';
import { openTrainingSplit, runTraining, settingsFromRun, toRunOptions } from '@semseg/engine/node';
import { Command, Option } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../backends/index.js';
import { UsageError } from '../errors.js';
import { readJsonFile } from '../io/files.js';
import { getModelDefinition } from '../models.js';
import { choiceOption, option, typedOptions } from '../options/commander.js';
import { parseCrfOption } from '../options/crf.js';
import {
  parseNonNegativeInt,
  parseNonNegativeNumber,
  parsePositiveInt,
  parsePositiveNumber,
  parseScales,
  parseSize,
  parseUnitInterval,
  parseWidth,
} from '../options/numbers.js';
import { threadsOption } from '../options/threads.js';
import { TrainProgress, formatDuration } from '../progress.js';
import { activateBackend, backendOption, describeSelection } from './backend-option.js';
import { interruptSignal } from './interrupt.js';
import { replicaPlugins } from './replica-plugins.js';

type TrainFlags = TrainSettings & {
  preset?: string;
  config?: string;
  resume?: boolean;
  backend: BackendChoice;
  evalCrf?: string | true;
  threads: number;
};

function parseScaleRange(text: string): [number, number] {
  const values = parseScales(text);
  if (values.length !== 2) throw new UsageError(`expected low,high such as 0.5,2, got '${text}'`);
  return [values[0]!, values[1]!];
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`expected a JSON object such as '{"alignment":"compact"}', got '${text}'`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`expected a JSON object, got '${text}'`);
  return value as Record<string, unknown>;
}

function parseClassWeights(text: string): number[] {
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.length < 2 || values.some((v) => !Number.isFinite(v) || v < 0))
    throw new UsageError(`expected one non-negative weight per class such as 1,2,0.5, got '${text}'`);
  return values;
}

/** The backend a resumed run recorded in run.json (`auto` for runs that recorded none). */
function recordedBackend(recorded: unknown, runFile: string): BackendChoice {
  const name = (recorded as { backend?: unknown } | null)?.backend;
  if (name === undefined) return 'auto';
  if (typeof name !== 'string' || !(BACKEND_CHOICES as readonly string[]).includes(name))
    throw new UsageError(
      `${runFile}: backend ${JSON.stringify(name)} is not one of ${BACKEND_CHOICES.join(', ')}`,
    );
  return name as BackendChoice;
}

/** Batches per epoch: the training pipeline drops the last partial batch, so it needs one full batch. */
async function batchesPerEpoch(data: string, split: string, batchSize: number): Promise<number> {
  const dataset = await openTrainingSplit(data, split);
  const batches = Math.floor(dataset.ids.length / batchSize);
  if (batches < 1) {
    throw new UsageError(
      `split '${split}' has ${dataset.ids.length} images, fewer than one batch of ${batchSize}; lower --batch-size`,
    );
  }
  return batches;
}

async function train(command: Command): Promise<void> {
  const flags = command.opts<TrainFlags>();
  const typed = typedOptions<TrainFlags>(command);
  // Flags that steer the command rather than set a training value.
  const {
    backend: _backend,
    preset: _preset,
    config: _config,
    resume: _resume,
    debug: _debug,
    modelConfig: modelConfigFlag,
    evalCrf: evalCrfFlag,
    threads: _threads,
    ...typedSettings
  } = typed as TrainFlags & { debug?: boolean };
  if (!flags.out) throw new UsageError('--out <run dir> is required');

  // Lowest to highest: defaults, the resumed run, --preset, --config, typed flags; each value
  // keeps its origin for the recipe the run prints and records.
  const layers: SettingsLayer[] = [];
  const runFile = join(flags.out, 'run.json');
  let backendChoice = flags.backend;
  let threads = flags.threads;
  if (flags.resume) {
    const recorded = await readJsonFile(runFile, 'run record (needed by --resume)');
    layers.push({ origin: `resumed run ${flags.out}`, settings: settingsFromRun(recorded, runFile) });
    // The run's own backend unless --backend says otherwise: kernels differ in their last bits.
    if (command.getOptionValueSource('backend') !== 'cli') backendChoice = recordedBackend(recorded, runFile);
    // And its thread count: the shards of a batch, hence the summation order, depend on it.
    const recordedThreads = Number((recorded as { threads?: unknown } | null)?.threads ?? 1);
    if (command.getOptionValueSource('threads') !== 'cli')
      threads = Number.isInteger(recordedThreads) && recordedThreads > 0 ? recordedThreads : 1;
  } else if (existsSync(runFile)) {
    // A second run in the same folder would mix its log and checkpoints with the first one's.
    throw new UsageError(
      `${flags.out} already holds a run; continue it with --resume, or choose another --out`,
    );
  }
  if (flags.preset) layers.push({ origin: `preset ${flags.preset}`, settings: presetSettings(flags.preset) });
  if (flags.config)
    layers.push({
      origin: `config ${flags.config}`,
      settings: parseTrainSettings(await readJsonFile(flags.config, 'config file'), flags.config),
    });
  layers.push({
    origin: 'flag',
    settings: {
      ...(typedSettings as TrainSettings),
      ...(modelConfigFlag ? { modelConfig: modelConfigFlag } : {}),
      out: flags.out,
    },
  });
  const { settings, origins } = resolveTrainSettings(layers);

  if (!settings.model)
    throw new UsageError('--model <name> is required (or --preset, or --config with "model")');
  if (!settings.data) throw new UsageError('--data <VOC root> is required');
  getModelDefinition(settings.model); // unknown model: one line naming the registered ones
  const modelConfig = validateModelConfig(settings.model, {
    ...(settings.modelConfig ?? {}),
    ...(settings.width !== undefined ? { width: settings.width } : {}),
  });
  checkStagedStart(settings, Boolean(flags.resume));
  // Opening the split here also reports a missing or broken dataset before any backend loads.
  const perEpoch = await batchesPerEpoch(
    settings.data,
    settings.trainSplit ?? 'train',
    settings.batchSize ?? 8,
  );
  if (settings.epochs !== undefined && typed.steps === undefined) {
    settings.steps = Math.max(1, Math.round(settings.epochs * perEpoch));
    origins.steps = origins.epochs;
  }
  const evalCrf =
    evalCrfFlag !== undefined
      ? parseCrfOption(evalCrfFlag, crfPresetFor({ name: settings.model, config: modelConfig }))
      : null;
  const runOptions = toRunOptions(
    {
      ...settings,
      model: settings.model,
      data: settings.data,
      out: flags.out,
      steps: settings.steps ?? 1000,
    },
    evalCrf,
  );

  const backend = await activateBackend(backendChoice);
  const progress = new TrainProgress({
    tty: Boolean(process.stderr.isTTY),
    every: runOptions.logEvery ?? 10,
    backend: describeSelection(backend),
    write: (text) => process.stderr.write(text),
  });
  const interrupt = interruptSignal((text) => process.stderr.write(text));
  const start = performance.now();
  try {
    const result = await runTraining({
      ...runOptions,
      resume: Boolean(flags.resume),
      backend: backend.name,
      settingOrigins: origins,
      threads,
      plugins: replicaPlugins(),
      signal: interrupt.signal,
      onEvent: (event) => {
        if (event.type === 'start')
          process.stderr.write(`recipe:\n${formatRecipe(event.recipe).join('\n')}\n`);
        progress.onEvent(event);
      },
    });
    progress.stop();
    const last = result.evaluations.at(-1);
    const evalText = last ? `, val mIoU ${(last.summary.metrics.meanIoU * 100).toFixed(2)}` : '';
    if (result.reason === 'interrupted') {
      process.stderr.write(
        `interrupted at step ${result.step}; checkpoint ${result.finalCheckpoint}; continue with: semseg train --out ${flags.out} --resume\n`,
      );
      process.exitCode = 130;
      return;
    }
    process.stdout.write(
      `trained ${result.step} steps in ${formatDuration((performance.now() - start) / 1000)} on ${backend.name}: loss ${result.lastLoss.toFixed(4)}${evalText}; checkpoint ${result.finalCheckpoint}\n`,
    );
  } finally {
    progress.stop();
    interrupt.dispose();
  }
}

export function trainCommand(): Command {
  const presets = listTrainPresets().map((p) => p.name);
  const command = new Command('train')
    .summary('train a registered model on a VOC-layout dataset')
    .description(
      'Trains any registered model (fcn32s, fcn16s, fcn8s, ...) on PASCAL VOC-layout data with seeded ' +
        'augmentation (random scale, crop, flip), SGD with momentum or Adam, and a poly/step/fixed ' +
        'learning-rate schedule. Writes <out>/latest (every --checkpoint-every steps, atomically), ' +
        '<out>/final, <out>/train.jsonl (logged steps and evaluations) and <out>/run.json. ' +
        'Settings, lowest to highest: defaults, the run being resumed, --preset, --config, flags. ' +
        'Ctrl-C stops after the current step and writes a checkpoint; --resume continues exactly.',
    )
    .option('--model <name>', 'registered model name (see `semseg info`)')
    .option('--data <root>', 'dataset root: the VOC2012 folder or the VOCdevkit folder above it')
    .addOption(
      option(
        '--classes <file|a,b,...>',
        "the dataset's classes: a labelmap.txt (name:r,g,b::), a file of names or a comma list (default: <data>/labelmap.txt, else VOC's 21)",
        (value) => (existsSync(value) ? resolve(value) : value),
      ),
    )
    .option('--out <dir>', 'run folder for checkpoints and logs')
    .addOption(
      new Option(
        '--preset <name>',
        "a paper's recipe, registered by its model package (see `semseg info`)",
      ).choices(presets),
    )
    .option(
      '--config <file.json>',
      'settings as JSON, keys as the flags in camelCase (batchSize, lrPolicy, ...)',
    )
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(option('--width <w>', 'VGG16 channel multiplier, e.g. 1/8 (1 = the paper)', parseWidth))
    .addOption(
      option('--model-config <json>', 'more model config, e.g. \'{"alignment":"compact"}\'', parseJsonObject),
    )
    .addOption(option('--batch-size <n>', 'images per step (default 8)', parsePositiveInt))
    .addOption(option('--crop <size>', 'training crop, 321 or HxW (default 321)', parseSize))
    .addOption(option('--scale-range <lo,hi>', 'random scale range (default 0.5,2)', parseScaleRange))
    .option('--no-flip', 'no random horizontal flips')
    .option(
      '--photometric',
      "mmsegmentation's PhotoMetricDistortion: brightness, contrast, saturation, hue, each with p 0.5",
    )
    .addOption(
      option('--steps <n>', 'optimisation steps (default 1000)', parsePositiveInt).conflicts('epochs'),
    )
    .addOption(option('--epochs <n>', 'passes over the training split (sets --steps)', parsePositiveNumber))
    .addOption(option('--lr <rate>', 'base learning rate (default 1e-3)', parsePositiveNumber))
    .addOption(
      choiceOption('--lr-policy <policy>', 'poly (power 0.9), step, exp or fixed (default poly)', [
        'poly',
        'step',
        'exp',
        'fixed',
      ]),
    )
    .addOption(option('--lr-power <p>', 'poly power (default 0.9)', parsePositiveNumber))
    .addOption(option('--lr-step-size <n>', 'step policy: steps between decays', parsePositiveInt))
    .addOption(
      option('--lr-gamma <g>', 'step and exp policies: decay factor (default 0.1)', parsePositiveNumber),
    )
    .addOption(option('--momentum <m>', 'SGD momentum (default 0.9)', parseUnitInterval))
    .addOption(
      option(
        '--weight-decay <d>',
        'L2 weight decay, not on biases and BN (default 5e-4)',
        parseNonNegativeNumber,
      ),
    )
    .addOption(
      choiceOption('--optimizer <name>', 'sgd, adam or rmsprop (default sgd)', ['sgd', 'adam', 'rmsprop']),
    )
    .addOption(
      choiceOption(
        '--loss-reduction <how>',
        "mean over labelled pixels (default) or sum (Caffe's normalize: false, the FCN solvers)",
        ['mean', 'sum'],
      ),
    )
    .addOption(
      option('--class-weights <w,w,...>', 'per-class loss weights, one per class', parseClassWeights),
    )
    .option(
      '--weight-map',
      "the model's per-pixel loss weights on every crop (U-Net, eq. 2: class balance plus the border " +
        "between touching instances, from SegmentationObject/<id>.png or else the label's components)",
    )
    .addOption(
      option('--weight-map-w0 <w>', "U-Net's border weight w0 (the paper: 10)", parseNonNegativeNumber),
    )
    .addOption(
      option(
        '--weight-map-sigma <px>',
        "U-Net's border width sigma in pixels (the paper: 5)",
        parsePositiveNumber,
      ),
    )
    .addOption(
      option(
        '--cat-max-ratio <r>',
        'redraw crops where one class covers this fraction or more (mmsegmentation; default 1: off)',
        parseUnitInterval,
      ),
    )
    .option('--pretrained <weights>', "ImageNet weights for the model's backbone (see `semseg info`)")
    .option(
      '--init-from <checkpoint|run>',
      'initialise matching parameters from a checkpoint or a run folder (staged FCN training)',
    )
    .addOption(
      option(
        '--seed <n>',
        'seed for initialisation, data order and augmentation (default 0)',
        parseNonNegativeInt,
      ),
    )
    .addOption(
      option('--eval-every <n>', 'evaluate on --val-split every n steps and at the end', parsePositiveInt),
    )
    .option('--eval-crf [preset|json]', 'also score CRF-refined labels at each evaluation')
    .addOption(
      option('--checkpoint-every <n>', 'write <out>/latest every n steps (default 500)', parsePositiveInt),
    )
    .addOption(
      option(
        '--keep <n>',
        'also keep the n newest step checkpoints (<out>/step-<n>) besides latest',
        parsePositiveInt,
      ),
    )
    .addOption(
      choiceOption(
        '--save-best <metric>',
        'keep the checkpoint of the best evaluation in <out>/best (needs --eval-every)',
        ['mIoU', 'mAcc', 'aAcc'],
      ),
    )
    .addOption(
      option('--log-every <n>', 'log a step to train.jsonl every n steps (default 10)', parsePositiveInt),
    )
    .addOption(
      option('--workers <n>', 'decode/augment worker threads (default 0: main thread)', parseNonNegativeInt),
    )
    .option(
      '--resume',
      'continue the run in --out from its latest checkpoint (its settings and backend unless given; from step 0 if it has none)',
    )
    .option(
      '--train-split <name>',
      'training split list (default train; train_aug reads SBD SegmentationClassAug)',
    )
    .option('--val-split <name>', 'evaluation split list (default val)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  semseg train --model fcn8s --width 1/8 --data data/VOC2012 --out runs/a --steps 300 --optimizer adam --lr 2e-3\n' +
        '  semseg train --preset fcn32s-voc --pretrained vgg16/model.json --data VOCdevkit --out runs/fcn32s\n' +
        '  semseg train --out runs/a --resume --steps 600',
    );
  command.action(() => train(command));
  return command;
}
