import { tsupPreset } from '@semseg/tooling/tsup';
import { defineConfig } from 'tsup';

export default defineConfig(tsupPreset({ entry: ['src/index.ts', 'src/node/index.ts'] }));
