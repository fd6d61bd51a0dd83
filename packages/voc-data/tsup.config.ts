import { tsupPreset } from '@semseg/tooling/tsup';
import { defineConfig } from 'tsup';

export default defineConfig(
  tsupPreset({
    // The worker is its own entry: WorkerPool starts it by URL next to dist/node/index.js.
    entry: ['src/index.ts', 'src/node/index.ts', 'src/node/pipeline-worker.ts'],
  }),
);
