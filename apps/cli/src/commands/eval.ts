import { createHash } from 'node:crypto';
import { ConfigError, InputError } from '@semseg/core';
import { describePartial, evalRecord, inferenceRecord, mergedEvalRecord, parseShard } from '@semseg/engine';
import { mergeEvalFiles } from '@semseg/engine/node';
import type { ShardSpec } from '@semseg/voc-data';
import { readClassesOption } from '@semseg/voc-data/node';
import { Command } from 'commander';
import type { BackendChoice } from '../backends/index.js';
import { UsageError } from '../errors.js';
import { readUserFile } from '../io/files.js';
import { option } from '../options/commander.js';
import { threadsOption } from '../options/threads.js';
import '../models.js';
import { activateBackend, backendOption, describeSelection } from './backend-option.js';
import { collect, evaluateModels, readProposals } from './ensemble.js';
import { formatMetrics } from './eval-report.js';
import { type InferenceFlags, addInferenceOptions, inferenceSettings } from './inference-options.js';
import { writeAtomically } from './predict-outputs.js';
import { replicaPlugins } from './replica-plugins.js';
import { type RuntimeFlags, describeRuntime, loadModelsOn, runtimeOption } from './runtime-option.js';

interface EvalFlags extends InferenceFlags, RuntimeFlags {
  checkpoint?: string[];
  proposals?: string;
  data?: string;
  split: string;
  json?: string;
  shard?: ShardSpec;
  merge?: string[];
  allowPartial?: boolean;
  classes?: string;
  backend: BackendChoice;
  quiet?: boolean;
  threads: number;
}

/** `--classes` must name exactly the classes the checkpoint (or the shards) were trained on. */
async function checkClasses(
  spec: string | undefined,
  classes: readonly string[],
  source: string,
): Promise<void> {
  if (spec === undefined) return;
  const given = (await readClassesOption(spec)).classes;
  if (given.join('\n') !== classes.join('\n'))
    throw new UsageError(
      `--classes (${given.length}: ${given.join(', ')}) differ from ${source}'s classes (${classes.length}: ${classes.join(', ')})`,
    );
}

async function merge(files: string[], flags: EvalFlags): Promise<void> {
  if (flags.checkpoint || flags.data)
    throw new UsageError('--merge combines shard files; it takes no --checkpoint or --data');
  const merged = await mergeEvalFiles(files, { allowPartial: true });
  if (merged.partial && !flags.allowPartial)
    throw new InputError(
      `${describePartial(merged.partial, merged.shards.count)} (--allow-partial merges what is there)`,
    );
  await checkClasses(flags.classes, merged.classes, files[0]!);
  const metrics = merged.matrix.compute();
  const crfMetrics = merged.crfMatrix?.compute();
  const partial = merged.partial
    ? ` (PARTIAL: ${describePartial(merged.partial, merged.shards.count).replace(/; evaluate that shard again$/, '')})`
    : '';
  process.stdout.write(
    `merged ${files.length} files, shards ${merged.shards.indices.length} of ${merged.shards.count}, ${merged.images} images${partial}\n${formatMetrics(metrics, merged.classes, 'text')}\n`,
  );
  if (crfMetrics) process.stdout.write(`\nwith CRF:\n${formatMetrics(crfMetrics, merged.classes, 'text')}\n`);
  if (flags.json) await writeAtomically(flags.json, `${JSON.stringify(mergedEvalRecord(merged), null, 2)}\n`);
}

/** What a record says about --proposals: 'auto', or the boxes file's SHA-256 (its name may differ per machine). */
async function proposalsId(flag: string | undefined): Promise<string | undefined> {
  if (flag === undefined || flag === 'auto') return flag;
  const bytes = await readUserFile(flag, 'proposals file');
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function evaluate(flags: EvalFlags): Promise<void> {
  if (flags.merge) return merge(flags.merge, flags);
  if (flags.allowPartial) throw new UsageError('--allow-partial applies to --merge');
  if (!flags.checkpoint) throw new UsageError('--checkpoint <dir> is required (or --merge <shard json...>)');
  if (!flags.data) throw new UsageError('--data <VOC root> is required');
  const { inference, crf: crfFor } = inferenceSettings(flags);
  const backend = await activateBackend(flags.backend);
  const tty = Boolean(process.stderr.isTTY) && !flags.quiet;
  const onImage = (done: number, total: number) => {
    if (tty) process.stderr.write(`\revaluating ${done}/${total}${done === total ? '\n' : ''}`);
  };
  const proposals = await readProposals(flags.proposals);
  const loaded = await loadModelsOn(flags, flags.checkpoint);
  try {
    await checkClasses(flags.classes, loaded.meta.classes, loaded.modelJson[0]!);
    // An ensemble's CRF is the first checkpoint's model's.
    const crf = crfFor(loaded.meta.architecture);
    // One tfjs checkpoint spreads the images over replica threads (the engine's evaluateDataset
    // reads these from the options it is given); onnx takes --threads as its own.
    const replicated =
      flags.runtime === 'tfjs' && flags.checkpoint.length === 1 && !proposals
        ? {
            ...inference,
            threads: flags.threads,
            plugins: replicaPlugins(),
            architecture: loaded.meta.architecture,
          }
        : inference;
    const summary = await evaluateModels(loaded, {
      data: flags.data,
      split: flags.split,
      ...(flags.shard ? { shard: flags.shard } : {}),
      inference: replicated,
      crf: crf?.option ?? null,
      proposals,
      onImage,
    });
    const classes = summary.meta.classes;
    const shardText = flags.shard ? ` shard ${flags.shard.index}/${flags.shard.count}` : '';
    process.stdout.write(
      `${flags.split}${shardText}: ${summary.images} images on ${flags.runtime === 'tfjs' ? backend.name : describeRuntime(flags)}\n${formatMetrics(summary.metrics, classes, 'text')}\n`,
    );
    if (summary.crfMetrics)
      process.stdout.write(
        `\nwith CRF:\ncrf: ${crf?.description}\n${formatMetrics(summary.crfMetrics, classes, 'text')}\n`,
      );
    if (flags.json) {
      const record = evalRecord(summary, classes, {
        checkpoint: flags.checkpoint.join(','),
        checkpointSha256: loaded.checkpointSha256,
        split: flags.split,
        inference: inferenceRecord(inference, await proposalsId(flags.proposals), flags.runtime),
        ...(flags.shard ? { shard: flags.shard } : {}),
        crfSettings: crf?.option,
      });
      await writeAtomically(flags.json, `${JSON.stringify(record, null, 2)}\n`);
    }
  } finally {
    loaded.dispose();
  }
}

/** `--shard`, with the index (and count) from the environment for `auto`; a bad value is a usage error. */
function shardFromFlag(text: string): ShardSpec {
  try {
    return parseShard(text, process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

export function evalCommand(): Command {
  const command = new Command('eval')
    .summary('score a checkpoint on a split (mIoU, mAcc, aAcc, fwIoU, per class), or merge shards')
    .description(
      'Evaluates a checkpoint on a VOC-layout split, optionally multi-scale + flip, by sliding ' +
        'windows, and with the dense CRF (scored with and without it in one pass). --json writes ' +
        'the metrics and the confusion matrices. A large job splits with --shard i/n (ids whose ' +
        "position % n == i) and `semseg eval --merge` sums the shards' matrices: exactly the metrics " +
        'of one pass. --shard auto/n reads i from SEMSEG_SHARD_INDEX, JOB_COMPLETION_INDEX (a Kubernetes ' +
        'Indexed Job) or SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN; a Slurm job array); ' +
        '--shard auto also reads n from SEMSEG_SHARD_COUNT or SLURM_ARRAY_TASK_COUNT.',
    )
    .option(
      '--checkpoint <dir>',
      'checkpoint folder (or its model.json); repeat for an ensemble (mean of probabilities)',
      collect,
    )
    .option(
      '--proposals <boxes.json|auto>',
      'proposal-wise inference: boxes per image id (-> [[x0, y0, x1, y1]]) or auto',
    )
    .option('--data <root>', 'dataset root: the VOC2012 folder or the VOCdevkit folder above it')
    .option('--split <name>', 'split list to evaluate', 'val')
    .option('--json <file>', 'write the metrics and confusion matrices as JSON')
    .addOption(option('--shard <i/n|auto/n|auto>', 'evaluate only shard i of n', shardFromFlag))
    .option(
      '--merge <shard.json...>',
      'combine the --json files of shards instead of evaluating: every shard i of n exactly once, of one checkpoint, split and settings',
    )
    .option(
      '--allow-partial',
      'with --merge: merge the shards given even if some are missing (the output says partial)',
    )
    .option(
      '--classes <file|a,b,...>',
      "the classes expected (labelmap.txt, one name per line, or a comma list): must equal the checkpoint's",
    )
    .addOption(backendOption())
    .addOption(runtimeOption())
    .addOption(threadsOption())
    .option('--quiet', 'no backend line or progress on stderr');
  addInferenceOptions(command);
  command.addHelpText(
    'after',
    '\nExamples:\n' +
      '  semseg eval --checkpoint runs/a/final --data VOCdevkit --split val --scales 0.75,1,1.25 --flip --crf\n' +
      '  semseg eval --checkpoint runs/a/final --data VOCdevkit --shard auto/8 --json out/shard-$JOB_COMPLETION_INDEX.json\n' +
      '  semseg eval --merge out/shard-*.json --json out/val.json',
  );
  command.action(() => evaluate(command.opts<EvalFlags>()));
  return command;
}
