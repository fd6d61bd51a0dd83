import { vitestPreset } from '@semseg/tooling/vitest';

export default vitestPreset();
