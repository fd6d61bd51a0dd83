// `semseg export <checkpoint> --to safetensors|pth --out <file>`: a checkpoint's weights as a
// file PyTorch loads (`load_state_dict(strict=True)`), with the architecture's PyTorch names.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { getModelDefinition } from '@semseg/core';
import { exportWeights } from '@semseg/engine';
import { loadModel } from '@semseg/engine/node';
import { Command, Option } from 'commander';
import type { BackendChoice } from '../backends/index.js';
import '../models.js';
import { activateBackend, backendOption } from './backend-option.js';

interface ExportFlags {
  to: 'safetensors' | 'pth';
  out: string;
  backend: BackendChoice;
}

async function exportCommandAction(checkpoint: string, flags: ExportFlags): Promise<void> {
  await activateBackend(flags.backend);
  const { model, meta } = await loadModel(checkpoint);
  try {
    const definition = getModelDefinition(meta.architecture.name);
    const bytes = await exportWeights(model, definition, { to: flags.to });
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
    .description('Export a checkpoint as a PyTorch .pth or .safetensors file (PyTorch names and layouts)')
    .argument('<checkpoint>', 'checkpoint folder')
    .addOption(
      new Option('--to <format>', 'file format').choices(['safetensors', 'pth']).makeOptionMandatory(),
    )
    .requiredOption('--out <file>', 'file to write')
    .addOption(backendOption())
    .action((checkpoint: string, flags: ExportFlags) => exportCommandAction(checkpoint, flags));
}
