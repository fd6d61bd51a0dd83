// `semseg export <checkpoint> --to safetensors|pth --out <file>`: a checkpoint's weights as a
// file PyTorch loads (`load_state_dict(strict=True)`), with the architecture's PyTorch names.
// `--to onnx`: the network as an ONNX graph (@semseg/onnx), of dynamic input size where the
// architecture allows it, with the checkpoint's classes and normalisation in its metadata.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { getModelDefinition } from '@semseg/core';
import { exportWeights } from '@semseg/engine';
import { loadModel } from '@semseg/engine/node';
import {
  ONNX_MAX_OPSET,
  ONNX_OPSET,
  checkpointMetadata,
  exportOnnx,
  readMetadataProps,
  servedSizesOf,
} from '@semseg/onnx';
import { Command, Option } from 'commander';
import type { BackendChoice } from '../backends/index.js';
import '../models.js';
import { UsageError } from '../errors.js';
import { option } from '../options/commander.js';
import { parsePositiveInt, parseSize } from '../options/numbers.js';
import { activateBackend, backendOption } from './backend-option.js';

interface ExportFlags {
  to: 'safetensors' | 'pth' | 'onnx';
  out: string;
  backend: BackendChoice;
  inputSize?: [number, number];
  opset?: number;
  keepBn?: boolean;
  batch?: string;
  fixedSize?: boolean;
}

/** The traced input size of `--to onnx` when --input-size is not given. */
const ONNX_DEFAULT_SIZE: [number, number] = [512, 512];

function onnxBatch(text: string | undefined): number | 'dynamic' {
  if (text === undefined || text === 'dynamic') return 'dynamic';
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--batch must be a positive integer or 'dynamic', got '${text}'`);
  return n;
}

async function exportCommandAction(checkpoint: string, flags: ExportFlags): Promise<void> {
  await activateBackend(flags.backend);
  const { model, meta } = await loadModel(checkpoint);
  try {
    const definition = getModelDefinition(meta.architecture.name);
    if (
      flags.to !== 'onnx' &&
      (flags.inputSize || flags.opset || flags.keepBn || flags.batch || flags.fixedSize)
    ) {
      throw new UsageError(
        '--input-size, --opset, --keep-bn, --batch and --fixed-size apply to --to onnx only',
      );
    }
    const [height, width] = flags.inputSize ?? ONNX_DEFAULT_SIZE;
    const bytes =
      flags.to === 'onnx'
        ? exportOnnx(model, {
            height,
            width,
            batch: onnxBatch(flags.batch),
            opset: flags.opset ?? ONNX_OPSET,
            keepBatchNorm: flags.keepBn ?? false,
            dynamicSize: flags.fixedSize ? false : 'auto',
            metadata: checkpointMetadata(meta),
          })
        : await exportWeights(model, definition, { to: flags.to });
    // A temporary name in the same folder, renamed: never a half-written file under the name.
    await mkdir(dirname(flags.out), { recursive: true });
    const tmp = join(dirname(flags.out), `.${basename(flags.out)}.tmp-${randomBytes(4).toString('hex')}`);
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, flags.out);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    if (flags.to === 'onnx') {
      const props = readMetadataProps(bytes, flags.out);
      const dynamic = (servedSizesOf(props)?.height.modulus ?? 0) > 0;
      const size = dynamic
        ? `dynamic: ${props['semseg.dynamic_size']}`
        : `fixed at ${height}x${width} (${props['semseg.dynamic_size']?.replace(/^false: /, '').split(';')[0]})`;
      process.stdout.write(
        `exported ${meta.architecture.name} (${(bytes.byteLength / 1e6).toFixed(1)} MB) to ${flags.out}: ONNX opset ${flags.opset ?? ONNX_OPSET}, input images [${onnxBatch(flags.batch)}, ${height}, ${width}, 3] NHWC, batch norm ${flags.keepBn ? 'kept' : 'folded'}, input size ${size}\n`,
      );
      return;
    }
    const names = definition.weightMaps?.(model.config ?? {}).find((m) => m.format === 'pytorch');
    process.stdout.write(
      `exported ${meta.architecture.name} (${(bytes.byteLength / 1e6).toFixed(1)} MB) to ${flags.out} with ${names ? names.description : 'our own names in PyTorch layouts'}\n`,
    );
  } finally {
    model.dispose();
  }
}

export function exportCommand(): Command {
  return new Command('export')
    .description(
      'Export a checkpoint as a PyTorch .pth or .safetensors file (PyTorch names and layouts), or as an ONNX graph',
    )
    .argument('<checkpoint>', 'checkpoint folder')
    .addOption(
      new Option('--to <format>', 'file format')
        .choices(['safetensors', 'pth', 'onnx'])
        .makeOptionMandatory(),
    )
    .requiredOption('--out <file>', 'file to write')
    .addOption(
      option(
        '--input-size <size>',
        `onnx: the input size traced, 512 or HxW (default ${ONNX_DEFAULT_SIZE.join('x')}); the graph takes it and, where the architecture allows, every size congruent to it modulo the total stride`,
        parseSize,
      ),
    )
    .addOption(
      option(
        '--opset <n>',
        `onnx: opset, ${ONNX_OPSET} to ${ONNX_MAX_OPSET} (default ${ONNX_OPSET})`,
        parsePositiveInt,
      ),
    )
    .addOption(
      new Option(
        '--keep-bn',
        'onnx: keep batch norms as separate nodes (default: folded into the convolutions)',
      ),
    )
    .addOption(new Option('--batch <n>', "onnx: a fixed batch size, or 'dynamic' (default)"))
    .addOption(
      new Option('--fixed-size', 'onnx: fix height and width at --input-size (default: dynamic where sound)'),
    )
    .addOption(backendOption())
    .action((checkpoint: string, flags: ExportFlags) => exportCommandAction(checkpoint, flags));
}
