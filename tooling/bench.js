// Shared benchmark harness: time a function, print a table with ratios against a named baseline
// measured in the same run, and write the results as JSON under <repo>/bench-results/.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Runs `fn` (sync or async) `warmup` times, then until both `iterations` runs and `minTimeMs`
 * have passed (at most `maxIterations`). Returns the median, mean, min and max in milliseconds.
 */
export async function measure(fn, { warmup = 1, iterations = 5, minTimeMs = 0, maxIterations = 1000 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  const start = performance.now();
  while (
    times.length < maxIterations &&
    (times.length < iterations || performance.now() - start < minTimeMs)
  ) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return {
    medianMs: median,
    meanMs: mean,
    minMs: times[0],
    maxMs: times[times.length - 1],
    runs: times.length,
  };
}

function format(value) {
  if (typeof value !== 'number') return String(value ?? '');
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 100
    ? value.toFixed(0)
    : abs >= 10
      ? value.toFixed(1)
      : abs >= 1
        ? value.toFixed(2)
        : value.toFixed(3);
}

/** Prints rows as an aligned text table; `columns` picks and orders the keys. */
export function printTable(title, rows, columns) {
  const cells = rows.map((r) => columns.map((c) => format(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values) =>
    values.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}

/**
 * Adds `ratio` = row[metric] / baseline row[metric] to every row that names a `baseline` row
 * (by its `name`) in the same list.
 */
export function addRatios(rows, metric = 'medianMs') {
  const byName = new Map(rows.map((r) => [r.name, r]));
  for (const row of rows) {
    const base = row.baseline ? byName.get(row.baseline) : undefined;
    if (base && base[metric] > 0) row.ratio = row[metric] / base[metric];
  }
  return rows;
}

/** Writes `{ suite, date, machine, ...data }` to bench-results/<suite>.json (temp file, then rename). */
export function writeResults(suite, data) {
  const dir = join(root, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${suite}.json`);
  const os = process.platform;
  const body = { suite, date: new Date().toISOString(), node: process.version, platform: os, ...data };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  console.log(`\nwrote ${file}`);
  return file;
}
