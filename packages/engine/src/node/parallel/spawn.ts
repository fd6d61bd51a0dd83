import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

// From dist the worker is the replica-worker.js built beside this file. From the TypeScript
// sources (tests, tsx, benches) it is replica-worker.ts, which a fresh thread can only load after
// registering tsx's loader. The workspace packages it imports resolve to their builds (core's Node
// entry must be the bundled one: its source imports tfjs-core files Node cannot resolve), which
// turbo builds before the tests.
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './replica-worker.ts' : './replica-worker.js', import.meta.url);

/** One replica thread running `replica-worker`. */
export function spawnReplicaWorker(name: string): Worker {
  if (!fromSource) return new Worker(workerUrl, { name });
  // The ESM build of tsx's API (its CommonJS build cannot register ESM hooks from a worker).
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsxApi = pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); });`;
  return new Worker(bootstrap, { eval: true, name });
}
