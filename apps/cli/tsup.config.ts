import { tsupPreset } from '@semseg/tooling/tsup';
import { defineConfig } from 'tsup';

export default defineConfig(
  tsupPreset({
    // bin.ts starts with a shebang; tsup keeps it and marks dist/bin.js executable.
    entry: ['src/index.ts', 'src/bin.ts'],
    platform: 'node',
  }),
);
