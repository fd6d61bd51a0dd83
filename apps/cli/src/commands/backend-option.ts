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

/** Activates the backend; each command says which one runs where it fits its output. */
export function activateBackend(choice: BackendChoice): Promise<BackendSelection> {
  return useBackend(choice);
}

/** `wasm (skipped node-gpu: ...; webgpu: ...)`: the backend and why auto passed over the others. */
export function describeSelection(selection: BackendSelection): string {
  const skipped = selection.skipped.filter((s) => s.reason !== 'not offered in this environment');
  const why =
    skipped.length > 0 ? ` (skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : '';
  return `${selection.name}${why}`;
}
