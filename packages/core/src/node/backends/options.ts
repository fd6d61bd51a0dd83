/** How the Node loaders find and describe backends; every field has a default. */
export interface NodeBackendOptions {
  /**
   * Imports a backend package. The default is @semseg/core's own dynamic `import()`, which finds
   * packages installed next to it (any npm or yarn layout). An app under a strict layout (pnpm)
   * passes `(specifier) => import(specifier)` from its own code so that its dependencies resolve.
   */
  importModule?: (specifier: string) => Promise<unknown>;
  /** Where tfjs-backend-wasm's `.wasm` binaries are (a folder URL or path ending in '/'); default: its package's dist/. */
  wasmPaths?: string;
  /** How this app's user picks a backend by name, for messages: the CLI says `--backend webgpu`. */
  chooseBy?: (backend: string) => string;
}

export interface ResolvedNodeBackendOptions {
  importModule: (specifier: string) => Promise<unknown>;
  wasmPaths: string | undefined;
  chooseBy: (backend: string) => string;
}

/** Imported by a computed name, so that bundlers leave the package to the app and core needs none of them. */
function importByName(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

export function resolveNodeBackendOptions(options: NodeBackendOptions = {}): ResolvedNodeBackendOptions {
  return {
    importModule: options.importModule ?? importByName,
    wasmPaths: options.wasmPaths,
    chooseBy: options.chooseBy ?? ((backend) => `the '${backend}' backend by name`),
  };
}
