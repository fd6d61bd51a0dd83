import { tsupPreset } from '@semseg/tooling/tsup';
import { defineConfig } from 'tsup';

export default defineConfig(tsupPreset());
