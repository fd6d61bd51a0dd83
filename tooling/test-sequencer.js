// The order vitest starts a package's test files in. Its own order runs the files it has timed
// longest first, which keeps both workers busy to the end; but on a fresh clone (CI) it has no
// timings and falls back to the largest files first, so a heavy test in a small file (one that
// imports its cases) starts last and runs alone: deeplab's 38-second ResNet-101 file started at
// 113 s and ended at 151 s, the other worker idle. Here each package's committed
// test/durations.json (seconds per file, written from vitest's own timings by
// `npm run test:durations`) stands in where vitest has no timing of its own.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BaseSequencer } from 'vitest/node';

export const DURATIONS_FILE = 'test/durations.json';

/** The committed seconds per test file of the package at `root` (empty without the file). */
export function readDurations(root) {
  const path = join(root, DURATIONS_FILE);
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not JSON (${e.message}); rewrite it with npm run test:durations`);
  }
}

export class MeasuredFirstSequencer extends BaseSequencer {
  async sort(files) {
    const root = this.ctx.config.root;
    const cache = this.ctx.cache;
    const committed = readDurations(root);
    const facts = new Map(
      files.map((spec) => {
        const path = relative(root, spec.moduleId);
        const cached = cache.getFileTestResults(`${spec.project.name}:${path}`);
        const hint = committed[path];
        const ms = cached ? cached.duration : typeof hint === 'number' ? hint * 1000 : null;
        return [spec, { failed: Boolean(cached?.failed), ms, size: statSync(spec.moduleId).size }];
      }),
    );
    return [...files].sort((a, b) => {
      const x = facts.get(a);
      const y = facts.get(b);
      // Failed first, then the longest known, then the unknown by size (vitest's own rules).
      if (x.failed !== y.failed) return x.failed ? -1 : 1;
      if (x.ms !== null && y.ms !== null) return y.ms - x.ms;
      if (x.ms !== null || y.ms !== null) return x.ms !== null ? -1 : 1;
      return y.size - x.size;
    });
  }
}
