// Writes each workspace package's test/durations.json from vitest's timings of its last runs (the
// cache under node_modules/.vite/vitest), for the test sequencer (test-sequencer.js) to start the
// longest files first on machines that have no timings, as CI's fresh clone. Run after `npm test`:
//   npm run test:durations
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DURATIONS_FILE } from './test-sequencer.js';
import { workspaceDirs } from './vitest.js';

for (const dir of workspaceDirs()) {
  const cacheRoot = join(dir, 'node_modules/.vite/vitest');
  if (!existsSync(cacheRoot)) continue;
  const seconds = {};
  for (const hash of readdirSync(cacheRoot)) {
    const path = join(cacheRoot, hash, 'results.json');
    if (!existsSync(path)) continue;
    for (const [key, result] of JSON.parse(readFileSync(path, 'utf8')).results) {
      const file = key.slice(key.indexOf(':') + 1);
      // Only files that still exist, timed in a run that passed.
      if (!existsSync(join(dir, file)) || result.failed) continue;
      seconds[file] = Math.round(result.duration / 100) / 10;
    }
  }
  const files = Object.keys(seconds).sort();
  if (files.length === 0) continue;
  const out = join(dir, DURATIONS_FILE);
  const text = `${JSON.stringify(Object.fromEntries(files.map((f) => [f, seconds[f]])), null, 2)}\n`;
  writeFileSync(`${out}.tmp`, text);
  renameSync(`${out}.tmp`, out);
  console.log(`${out}: ${files.length} files`);
}
