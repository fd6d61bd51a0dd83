import { type BackendLoader, type BackendSelection, selectBackend } from '@semseg/core';
import { NODE_BACKENDS, nodeBackendLoaders } from '@semseg/core/node';

// The loaders themselves are @semseg/core's Node loaders; the CLI only names its choices and how
// its user picks one (`--backend <name>`).
export const BACKEND_CHOICES = ['auto', ...NODE_BACKENDS] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The loaders this app offers; `webgpu` accepts a software adapter only when asked for by name. */
export function backendLoaders(preference: BackendChoice): BackendLoader[] {
  return nodeBackendLoaders(preference, { chooseBy: (backend) => `--backend ${backend}` });
}

/** Activates the chosen backend (or the best one `auto` finds) for tfjs. */
export function useBackend(preference: BackendChoice): Promise<BackendSelection> {
  return selectBackend(preference, backendLoaders(preference));
}
