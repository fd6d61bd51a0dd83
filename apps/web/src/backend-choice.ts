// Pure logic of the backend picker: names, labels, and the reasons a backend is not taken.

/** The backends this page offers, in the order `auto` tries them. */
export const PAGE_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type PageBackend = (typeof PAGE_BACKENDS)[number];
export type BackendChoice = 'auto' | PageBackend;

export const BACKEND_LABELS: Record<BackendChoice, string> = {
  auto: 'Auto (WebGPU, WebGL, wasm, cpu)',
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WebAssembly (wasm)',
  cpu: 'CPU (plain JavaScript)',
};

export function isBackendChoice(value: string | null | undefined): value is BackendChoice {
  return value === 'auto' || (PAGE_BACKENDS as readonly string[]).includes(value ?? '');
}

/** The backend the page starts with: `?backend=` when it names one, else auto. */
export function initialBackendChoice(search: string): BackendChoice {
  const value = new URLSearchParams(search).get('backend');
  return isBackendChoice(value) ? value : 'auto';
}

/** What a WebGPU adapter says about itself (GPUAdapterInfo, with the older fields as fallback). */
export interface AdapterFacts {
  description: string;
  isFallbackAdapter: boolean;
}

interface AdapterLike {
  info?: {
    vendor?: string;
    architecture?: string;
    description?: string;
    device?: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
}

export function adapterFacts(adapter: AdapterLike): AdapterFacts {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.description || info.device].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  return {
    description: parts.length > 0 ? parts.join(' / ') : 'unnamed adapter',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
}

/**
 * Why `auto` does not take WebGPU here, or null when it may. A software (fallback) adapter runs
 * the shaders on the CPU; chosen by name it is still used.
 */
export function webgpuSkipReason(
  hasNavigatorGpu: boolean,
  adapter: AdapterFacts | null,
  explicit: boolean,
): string | null {
  if (!hasNavigatorGpu) return 'this browser has no WebGPU (navigator.gpu is missing)';
  if (!adapter) return 'the browser offers no WebGPU adapter (GPU blocked or disabled)';
  if (adapter.isFallbackAdapter && !explicit) {
    return `only a software fallback adapter (${adapter.description}); pick WebGPU to use it anyway`;
  }
  return null;
}

/** Renderer names of WebGL implementations that run on the CPU. */
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/** Why `auto` does not take WebGL here, or null when it may. */
export function webglSkipReason(renderer: string | null, explicit: boolean): string | null {
  if (renderer === null) return 'this browser gives no WebGL2 context';
  if (!explicit && SOFTWARE_RENDERERS.test(renderer)) {
    return `only a software renderer (${renderer}); pick WebGL to use it anyway`;
  }
  return null;
}

/** One line for the page: the active backend and why earlier ones were passed over. */
export function describeSelection(
  choice: BackendChoice,
  active: string,
  skipped: ReadonlyArray<{ name: string; reason: string }>,
  detail?: string,
): { active: string; fallbacks: string[] } {
  const label = BACKEND_LABELS[active as PageBackend] ?? active;
  const how = choice === 'auto' ? 'chosen by auto' : 'chosen by you';
  return {
    active: `${label}${detail ? ` (${detail})` : ''}, ${how}`,
    fallbacks: skipped
      .filter((s) => (PAGE_BACKENDS as readonly string[]).includes(s.name))
      .map((s) => `${BACKEND_LABELS[s.name as PageBackend] ?? s.name} skipped: ${s.reason}`),
  };
}
