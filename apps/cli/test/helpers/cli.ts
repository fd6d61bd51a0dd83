import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI: end-to-end tests run exactly what users run (turbo builds before testing). */
export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export function requireBuild(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'npx tsup' in apps/cli first`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function semseg(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the CLI and sends SIGINT once stderr contains `trigger`. */
export function semsegInterrupted(
  args: readonly string[],
  trigger: RegExp,
  cwd?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!sent && trigger.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A failure as users must see it: one line, `semseg: ...`, no stack trace. */
export function expectOneLineFailure(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  const problems: string[] = [];
  if (result.code === 0 || result.code === null) problems.push(`exit code ${result.code}`);
  if (lines.length !== 1) problems.push(`${lines.length} stderr lines`);
  if (!/^semseg: /.test(lines[0] ?? '')) problems.push('no "semseg: " prefix');
  if (/\n\s+at /.test(result.stderr)) problems.push('a stack trace');
  if (!pattern.test(lines[0] ?? '')) problems.push(`message does not match ${pattern}`);
  if (problems.length > 0) throw new Error(`${problems.join(', ')}; stderr:\n${result.stderr}`);
}
