import { AUTO_BACKEND_ORDER, listTrainPresets, selectBackend } from '@semseg/core';
import { NODE_GPU_PACKAGE, NODE_GPU_REQUIREMENTS, lastWebGpuAdapter } from '@semseg/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { type BackendChoice, backendLoaders } from '../backends/index.js';
import { describeFailure } from '../errors.js';
import { listModels } from '../models.js';
import { cliVersion, packageVersion } from '../version.js';

interface BackendStatus {
  name: string;
  usable: boolean;
  detail: string;
}

/** Tries each backend by name (as `--backend <name>` would) and reports what happened. */
async function probeBackends(): Promise<BackendStatus[]> {
  const statuses: BackendStatus[] = [];
  for (const name of ['node-gpu', 'webgpu', 'wasm', 'cpu'] as const satisfies readonly BackendChoice[]) {
    try {
      await selectBackend(name, backendLoaders(name));
      const adapter = name === 'webgpu' ? lastWebGpuAdapter() : undefined;
      const detail = adapter
        ? `${adapter.description}${adapter.isFallbackAdapter ? ' (software fallback adapter: auto skips it)' : ''}`
        : `tfjs backend '${tf.getBackend()}'`;
      statuses.push({ name, usable: true, detail });
    } catch (error) {
      statuses.push({
        name,
        usable: false,
        detail: describeFailure(error).line.replace(/^backend '[^']+' cannot be used: /, ''),
      });
    }
  }
  return statuses;
}

async function info(): Promise<void> {
  const out: string[] = [];
  out.push(`semseg ${cliVersion()} on Node ${process.versions.node} (${process.platform}-${process.arch})`);
  const packages = [
    '@semseg/core',
    '@semseg/engine',
    '@semseg/fcn',
    '@semseg/crf',
    '@semseg/metrics',
    '@semseg/voc-data',
  ];
  out.push(`packages: ${packages.map((p) => `${p} ${packageVersion(p) ?? '-'}`).join(', ')}`);
  const tfjs = [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-webgpu',
    NODE_GPU_PACKAGE,
  ];
  out.push(
    `tfjs: ${tfjs.map((p) => `${p.replace('@tensorflow/', '')} ${packageVersion(p) ?? 'not installed'}`).join(', ')}`,
  );
  out.push(`sharp ${packageVersion('sharp') ?? '-'}, webgpu (Dawn) ${packageVersion('webgpu') ?? '-'}`);
  out.push('');
  out.push('backends (as --backend <name> would load them):');
  const statuses = await probeBackends();
  for (const s of statuses) out.push(`  ${s.usable ? 'yes' : 'no '} ${s.name.padEnd(9)} ${s.detail}`);
  out.push(`  (node-gpu needs ${NODE_GPU_REQUIREMENTS})`);
  out.push('');
  try {
    const auto = await selectBackend('auto', backendLoaders('auto'));
    out.push(`auto picks: ${auto.name} (order ${AUTO_BACKEND_ORDER.join(' > ')})`);
    for (const skipped of auto.skipped) out.push(`  skipped ${skipped.name}: ${skipped.reason}`);
  } catch (error) {
    out.push(`auto finds no backend: ${describeFailure(error).line}`);
  }
  out.push('');
  out.push('models:');
  const width = Math.max(9, ...listModels().map((m) => m.name.length));
  for (const model of listModels()) {
    const extras = [
      model.pretrained ? `--pretrained: ${model.pretrained.description}` : '',
      model.crfPreset
        ? `CRF preset ${typeof model.crfPreset === 'string' ? model.crfPreset : 'chosen by its config'}`
        : '',
    ].filter(Boolean);
    out.push(`  ${model.name.padEnd(width)} ${model.description}`);
    if (extras.length > 0) out.push(`  ${''.padEnd(width)} ${extras.join('; ')}`);
  }
  out.push('');
  out.push('training presets (semseg train --preset <name>):');
  for (const preset of listTrainPresets()) {
    const stage = preset.initFrom ? ` (starts from a ${preset.initFrom} run: --init-from)` : '';
    out.push(`  ${preset.name.padEnd(17)} ${preset.model}${stage}, from ${preset.source}`);
    out.push(`  ${''.padEnd(17)} ${preset.notes}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function infoCommand(): Command {
  return new Command('info')
    .summary('backends found, which one auto picks and why, versions, models')
    .description(
      'Loads each backend as --backend <name> would and says whether it works here and why not, ' +
        'which one --backend auto picks (auto takes node-gpu, then WebGPU on a hardware adapter, then ' +
        'wasm, then cpu), the versions of the packages, the registered models and the training presets.',
    )
    .action(() => info());
}
