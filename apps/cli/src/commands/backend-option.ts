import type { BackendSelection } from '@semseg/core';
import { Option } from 'commander';
import { BACKEND_CHOICES, type BackendChoice, useBackend } from '../backends/index.js';

export function backendOption(): Option {
  return new Option(
    '--backend <name>',
    'tfjs backend: auto tries node-gpu, webgpu (hardware adapter only), wasm, cpu',
  )
    .choices(BACKEND_CHOICES)
    .default('auto');
}

/** Activates the backend and says which one runs (and why auto skipped the others) on stderr. */
export async function activateBackend(choice: BackendChoice, quiet = false): Promise<BackendSelection> {
  const selection = await useBackend(choice);
  if (!quiet) {
    const skipped = selection.skipped.filter((s) => s.reason !== 'not offered in this environment');
    const why =
      skipped.length > 0 ? ` (skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : '';
    process.stderr.write(`backend: ${selection.name}${why}\n`);
  }
  return selection;
}
