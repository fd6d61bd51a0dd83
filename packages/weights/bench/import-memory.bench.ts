/**
 * Peak memory of importing a 537 MB voc-fcn8s caffemodel (generated here with seeded values,
 * deleted after): read + name-mapped into our layouts, each in a fresh process. 'file' is
 * readWeightsFile (positioned reads: the goal is a peak below 2x the file), 'bytes' the whole file
 * in memory first (what a browser holds).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, writeResults } from '@semseg/tooling/bench';
import { writeFcn8sCaffemodel } from './fcn8s-caffemodel.js';

const dir = mkdtempSync(join(tmpdir(), 'semseg-weights-bench-'));
try {
  const path = join(dir, 'fcn8s-heavy-pascal.caffemodel');
  const size = writeFcn8sCaffemodel(path);
  const child = fileURLToPath(new URL('./import-memory-child.ts', import.meta.url));
  const rows: Record<string, unknown>[] = [];
  for (const mode of ['file', 'bytes'] as const) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', child, path, mode], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
      peakMB: number;
      seconds: number;
      baselineMB: number;
    };
    rows.push({
      name: mode === 'file' ? 'readWeightsFile + mapWeights' : 'readWeights(bytes) + mapWeights',
      fileMB: (size / 1e6).toFixed(1),
      peakMB: r.peakMB.toFixed(0),
      'peak/file': (r.peakMB / (size / 1e6)).toFixed(2),
      baselineMB: r.baselineMB.toFixed(0),
      seconds: r.seconds.toFixed(2),
    });
  }
  printTable(`voc-fcn8s caffemodel import (load ${loadavg()[0]!.toFixed(2)})`, rows, [
    'name',
    'fileMB',
    'peakMB',
    'peak/file',
    'baselineMB',
    'seconds',
  ]);
  writeResults('weights-import-memory', { rows });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
