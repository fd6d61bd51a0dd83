import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI: end-to-end tests run exactly what users run (turbo builds before testing). */
export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** The newest modification time of the files under a folder (0 when it does not exist). */
function newest(dir: string): { time: number; file: string } {
  let best = { time: 0, file: dir };
  if (!existsSync(dir)) return best;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const time = statSync(file).mtimeMs;
    if (time > best.time) best = { time, file };
  }
  return best;
}

/**
 * The e2e tests must never run a stale build: the CLI's dist and every workspace package's dist
 * must be newer than their sources (turbo's test task builds first; a direct `vitest` may not).
 */
export function requireBuild(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'npm run build' first`);
  const packages = [join(REPO, 'apps/cli')];
  for (const group of ['packages', 'packages/backbones', 'packages/models']) {
    for (const entry of readdirSync(join(REPO, group), { withFileTypes: true }))
      if (entry.isDirectory() && existsSync(join(REPO, group, entry.name, 'src')))
        packages.push(join(REPO, group, entry.name));
  }
  for (const dir of packages) {
    const source = newest(join(dir, 'src'));
    const built = newest(join(dir, 'dist'));
    if (source.time > built.time)
      throw new Error(
        `stale build: ${source.file} is newer than ${join(dir, 'dist')}; run 'npm run build' first`,
      );
  }
}

/**
 * One thread unless a test asks for more (`--threads 2`): replica threads each start a backend,
 * which would slow every small e2e run on 2 shared cores.
 */
export const TEST_ENV = { SEMSEG_THREADS: '1' };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI to its end. Asynchronously: a test worker blocked in spawnSync for over a minute
 * (a training run on a loaded machine) cannot answer vitest's runner, which then fails the run
 * ("Timeout calling onTaskUpdate") though every test passed.
 */
export function semseg(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...TEST_ENV, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI and sends SIGINT once stderr contains `trigger`. */
export function semsegInterrupted(
  args: readonly string[],
  trigger: RegExp,
  cwd?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, ...TEST_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
