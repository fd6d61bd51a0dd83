import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Every module the main entry reaches, following relative imports through the sources. */
function reachable(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /(?:import|export)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g,
    )) {
      const specifier = match[1] ?? match[2];
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else bare.add(specifier);
    }
  };
  visit(entry);
  return { files, bare };
}

describe('the main entry', () => {
  it('reaches no Node-only module (fs, worker_threads, sharp) and nothing under src/node', () => {
    const { files, bare } = reachable(join(src, 'index.ts'));
    expect(files.size).toBeGreaterThan(10);
    for (const file of files) expect(file.startsWith(join(src, 'node'))).toBe(false);
    expect([...bare].sort()).toEqual(['fast-png']); // pure JS, runs in browsers and workers
  });
});
