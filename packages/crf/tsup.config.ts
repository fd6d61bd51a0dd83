import { tsupPreset } from '@semseg/tooling/tsup';
import { defineConfig } from 'tsup';

export default defineConfig(
  tsupPreset({
    // The worker is its own entry so that dist/node/worker.js sits beside dist/node/index.js,
    // which spawns it by URL.
    entry: ['src/index.ts', 'src/node/index.ts', 'src/node/worker.ts', 'src/wasm-writer.ts'],
  }),
);
