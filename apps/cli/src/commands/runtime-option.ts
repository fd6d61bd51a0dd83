// --runtime tfjs|onnx, shared by predict and eval: where the network pass runs. Everything around
// it (normalisation, windows, scales, flips, softmax, CRF) is the engine's one inference path.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { onnxModelFromFile, onnxModelFromModel } from '@semseg/onnx/node';
import { Option } from 'commander';
import { UsageError } from '../errors.js';
import { defaultThreads } from '../options/threads.js';
import { type LoadedModels, loadModels } from './ensemble.js';

export const RUNTIMES = ['tfjs', 'onnx'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export function runtimeOption(): Option {
  return new Option(
    '--runtime <name>',
    "where the network runs: tfjs (--backend), or onnx (onnxruntime-node on the CPU, --threads threads; takes a checkpoint, exported per input size, or an .onnx file from 'semseg export --to onnx')",
  )
    .choices(RUNTIMES)
    .default('tfjs');
}

export interface RuntimeFlags {
  runtime: Runtime;
  /** `--threads` where the command has it (onnxruntime's intra-op threads). */
  threads?: number;
}

/** A checkpoint argument that names an exported graph rather than a checkpoint folder. */
function isOnnxFile(path: string): boolean {
  return path.toLowerCase().endsWith('.onnx');
}

/** One line on where the network runs, printed with the backend line. */
export function describeRuntime(flags: RuntimeFlags): string {
  return flags.runtime === 'onnx'
    ? `onnxruntime-node (cpu, ${flags.threads ?? defaultThreads()} threads)`
    : 'tfjs';
}

/**
 * The models `--checkpoint` names, with their network on the runtime asked for. On onnx: one
 * checkpoint (exported on the fly, per input size) or one .onnx file (its metadata carries the
 * classes, palette and normalisation).
 */
export async function loadModelsOn(flags: RuntimeFlags, paths: readonly string[]): Promise<LoadedModels> {
  if (flags.runtime === 'tfjs') {
    const onnx = paths.find(isOnnxFile);
    if (onnx) throw new UsageError(`${onnx}: an .onnx graph runs with --runtime onnx`);
    return loadModels(paths);
  }
  if (paths.length !== 1)
    throw new UsageError(
      '--runtime onnx runs one --checkpoint (an ensemble averages tfjs models: use --runtime tfjs)',
    );
  const path = paths[0]!;
  const threads = flags.threads ?? defaultThreads();
  if (isOnnxFile(path)) {
    const { model, meta } = await onnxModelFromFile(path, { threads });
    const bytes = await readFile(path);
    return {
      model,
      meta,
      normalization: meta.normalization,
      checkpointSha256: [createHash('sha256').update(bytes).digest('hex')],
      modelJson: [path],
      dispose: () => model.dispose(),
    };
  }
  const loaded = await loadModels([path]);
  try {
    const model = await onnxModelFromModel(loaded.model, { threads, source: path });
    return {
      ...loaded,
      model,
      dispose: () => {
        model.dispose();
        loaded.dispose();
      },
    };
  } catch (error) {
    loaded.dispose();
    throw error;
  }
}
