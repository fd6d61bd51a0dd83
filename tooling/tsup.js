// Shared tsup preset: ESM + .d.ts into dist/. Dependencies and peers stay external (tsup's
// default), so every library shares the app's one copy of @tensorflow/tfjs-core.
/** @param {import('tsup').Options} [overrides] */
export function tsupPreset(overrides = {}) {
  return {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    external: [/^node:/],
    splitting: true,
    treeshake: false,
    ...overrides,
  };
}
