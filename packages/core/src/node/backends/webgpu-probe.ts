import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AdapterSummary } from './adapter.js';

// Runs in a child Node process: Dawn writes driver chatter straight to the process's stderr and a
// broken driver can take the process down, neither of which `auto` should inflict on the user.
const PROBE = `
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const info = adapter?.info ?? {};
const description = [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unnamed adapter';
process.stdout.write(JSON.stringify(adapter ? { description, isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) } : null));
process.exit(0);
`;

/**
 * The adapter Dawn would give this process, found in a child process; null when there is none.
 * The child resolves the `webgpu` package from `cwd` (default: this module's folder, which finds
 * it installed next to @semseg/core).
 */
export function probeWebGpuAdapter(
  timeoutMs = 20_000,
  cwd = fileURLToPath(new URL('.', import.meta.url)),
): Promise<AdapterSummary | null | { error: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE],
      { timeout: timeoutMs, cwd, env: process.env },
      (error, stdout) => {
        if (error) {
          resolve({
            error: error.killed
              ? 'the adapter probe timed out'
              : `the adapter probe failed (${String(error.message).split('\n')[0]})`,
          });
          return;
        }
        try {
          resolve(JSON.parse(stdout) as AdapterSummary | null);
        } catch {
          resolve({ error: 'the adapter probe printed no result' });
        }
      },
    );
  });
}
