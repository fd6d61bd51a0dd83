// Shared vitest preset. Tests run against package sources, not dist: every workspace package's
// export entries that carry a "source" field are aliased to that source file.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import { MeasuredFirstSequencer } from './test-sequencer.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function workspaceDirs() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of pkg.workspaces) {
    if (!pattern.endsWith('/*')) {
      dirs.push(join(root, pattern));
      continue;
    }
    const parent = join(root, pattern.slice(0, -2));
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent, { withFileTypes: true })) {
      if (entry.isDirectory()) dirs.push(join(parent, entry.name));
    }
  }
  return dirs.filter((d) => existsSync(join(d, 'package.json')));
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function workspaceAliases() {
  const aliases = [];
  for (const dir of workspaceDirs()) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!pkg.exports || typeof pkg.exports !== 'object') continue;
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (!target || typeof target !== 'object' || typeof target.source !== 'string') continue;
      const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`;
      aliases.push({
        find: new RegExp(`^${escapeRegExp(specifier)}$`),
        replacement: join(dir, target.source),
      });
    }
  }
  return aliases;
}

/** @param {import('vitest/config').UserConfig} [overrides] */
export function vitestPreset(overrides = {}) {
  return mergeConfig(
    defineConfig({
      resolve: { alias: workspaceAliases() },
      test: {
        include: ['test/**/*.test.ts'],
        environment: 'node',
        pool: 'forks',
        poolOptions: { forks: { maxForks: 2, minForks: 1 } },
        // The longest files first, from committed timings where vitest has none (test-sequencer.js).
        sequence: { sequencer: MeasuredFirstSequencer },
        // Names any test that holds a worker's event loop for long (vitest fails at 60 s).
        setupFiles: [join(root, 'tooling/event-loop-guard.js')],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        reporters: process.env.CI ? ['default'] : ['default'],
      },
    }),
    overrides,
  );
}
