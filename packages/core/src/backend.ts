import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from './errors.js';
import { patchWasmKernels } from './wasm-kernels.js';

/** The backends semseg.js knows, in the order `auto` tries them. */
export const AUTO_BACKEND_ORDER = ['node-gpu', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type KnownBackend = (typeof AUTO_BACKEND_ORDER)[number];
export type BackendPreference = 'auto' | KnownBackend | (string & {});

/** What a loader found when it was not usable: `load` returns this to be skipped by `auto`. */
export interface BackendUnavailable {
  unavailable: string;
}

/**
 * How an app brings a backend in. Libraries never import backends; the app passes loaders, e.g.
 * `{ name: 'wasm', load: async () => { await import('@tensorflow/tfjs-backend-wasm'); } }`.
 */
export interface BackendLoader {
  name: BackendPreference;
  /** The name the backend registers with tfjs, when it differs (tfjs-node registers 'tensorflow'). */
  tfjsName?: string;
  /**
   * Imports and registers the backend. Throws, or resolves to a `BackendUnavailable`, when the
   * backend cannot be used here; any other result means it loaded.
   */
  load: () => Promise<unknown>;
  /** What to install or set up when this backend cannot load. */
  installHint?: string;
}

export interface SkippedBackend {
  name: string;
  reason: string;
}

export interface BackendSelection {
  /** Our name of the chosen backend. */
  name: string;
  /** tfjs' name of it (`tf.getBackend()`). */
  tfjsName: string;
  /** Backends `auto` tried (or had no loader for) before the chosen one, with the reason. */
  skipped: SkippedBackend[];
}

/** A readable reason from whatever a failed import or init threw. */
export function describeLoadError(error: unknown): string {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    const message = String((error as { message?: unknown }).message ?? error);
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      const pkg = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
      return pkg
        ? `package '${pkg}' is not installed`
        : `a required package is not installed (${message.split('\n')[0]})`;
    }
    return message.split('\n')[0] ?? message;
  }
  return String(error);
}

function isUnavailable(value: unknown): value is BackendUnavailable {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BackendUnavailable).unavailable === 'string'
  );
}

async function tryLoader(loader: BackendLoader): Promise<{ ok: true } | { ok: false; reason: string }> {
  let result: unknown;
  try {
    result = await loader.load();
  } catch (e) {
    return { ok: false, reason: describeLoadError(e) };
  }
  if (isUnavailable(result)) return { ok: false, reason: result.unavailable };
  const tfjsName = loader.tfjsName ?? loader.name;
  if (!tf.findBackendFactory(tfjsName)) {
    return { ok: false, reason: `loading it registered no tfjs backend named '${tfjsName}'` };
  }
  let set = false;
  try {
    set = await tf.setBackend(tfjsName);
    if (set) await tf.ready();
  } catch (e) {
    return { ok: false, reason: `initialisation failed: ${describeLoadError(e)}` };
  }
  if (!set || tf.getBackend() !== tfjsName)
    return { ok: false, reason: 'initialisation failed (tf.setBackend returned false)' };
  if (tfjsName === 'wasm') patchWasmKernels();
  return { ok: true };
}

/**
 * Chooses and activates a backend. `'auto'` tries node-gpu, webgpu, webgl, wasm and cpu in that
 * order among the loaders given and reports why each earlier one was skipped; a named backend
 * that cannot load raises a BackendError saying why and what to install.
 */
export async function selectBackend(
  preference: BackendPreference,
  loaders: readonly BackendLoader[],
): Promise<BackendSelection> {
  const byName = new Map(loaders.map((l) => [l.name, l]));
  const previous = tf.engine().backendName;
  if (preference !== 'auto') {
    const loader = byName.get(preference);
    if (!loader) {
      const known = loaders.map((l) => l.name).join(', ');
      throw new BackendError(`unknown backend '${preference}'; this app offers: auto, ${known}`);
    }
    const outcome = await tryLoader(loader);
    if (!outcome.ok) {
      await restoreBackend(previous);
      const hint = loader.installHint ? ` ${loader.installHint}` : '';
      throw new BackendError(`backend '${preference}' cannot be used: ${outcome.reason}.${hint}`);
    }
    return { name: loader.name, tfjsName: tf.getBackend(), skipped: [] };
  }
  const skipped: SkippedBackend[] = [];
  const order: string[] = [
    ...AUTO_BACKEND_ORDER,
    ...loaders.map((l) => l.name).filter((n) => !(AUTO_BACKEND_ORDER as readonly string[]).includes(n)),
  ];
  for (const name of order) {
    const loader = byName.get(name);
    if (!loader) {
      skipped.push({ name, reason: 'not offered in this environment' });
      continue;
    }
    const outcome = await tryLoader(loader);
    if (outcome.ok) return { name, tfjsName: tf.getBackend(), skipped };
    skipped.push({ name, reason: outcome.reason });
  }
  await restoreBackend(previous);
  const reasons = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new BackendError(`no backend could be loaded (${reasons})`);
}

/** A failed setBackend leaves tfjs naming the failed backend: go back to the one that was active. */
async function restoreBackend(previous: string | null): Promise<void> {
  if (!previous) return;
  try {
    await tf.setBackend(previous);
  } catch {
    // nothing better to go back to
  }
}
