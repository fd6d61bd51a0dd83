import { tsupPreset } from '@semseg/tooling/tsup';
import { defineConfig } from 'tsup';

export default defineConfig(
  tsupPreset({
    // The replica thread is its own entry at dist/node/replica-worker.js, beside dist/node/index.js,
    // which spawns it by URL.
    entry: {
      index: 'src/index.ts',
      'node/index': 'src/node/index.ts',
      'node/replica-worker': 'src/node/parallel/replica-worker.ts',
    },
  }),
);
