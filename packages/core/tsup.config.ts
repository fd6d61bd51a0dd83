import { tsupPreset } from '@semseg/tooling/tsup';
import { defineConfig } from 'tsup';

export default defineConfig(
  tsupPreset({
    entry: ['src/index.ts', 'src/index.node.ts', 'src/node/index.ts'],
    // Node's import of @tensorflow/tfjs-core gets its CommonJS build, which registers no
    // gradients and no chained ops: bundle tfjs-core's own registration modules into the Node
    // entry. They register into tfjs's global registries, so the app's one engine gets them.
    noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
  }),
);
