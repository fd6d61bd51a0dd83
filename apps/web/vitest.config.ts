import { vitestPreset } from '@semseg/tooling/vitest';

// The browser test starts Chromium and a server: give its hooks room on 2 shared cores.
export default vitestPreset({ test: { hookTimeout: 180_000, testTimeout: 180_000 } });
