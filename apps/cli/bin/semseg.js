#!/usr/bin/env node
// The `semseg` bin. It is committed (not built) so that npm links it at install time: in a clone,
// `npm ci` runs before `npm run build` creates dist/bin.js, and a bin pointing at a missing file
// is never linked (then `npx semseg` asks the registry and fails).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write(
    `semseg: ${fileURLToPath(built)} is missing: build the CLI first (npm run build at the repository root)\n`,
  );
  process.exit(1);
}
await import(built.href);
