// Builds the app when its build is missing or older than its sources, and serves it with
// `vite preview` on 127.0.0.1 on a free port, as `npm run web` does.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function viteBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

function isFresh(): boolean {
  const built = join(APP_DIR, 'dist', 'index.html');
  const inputs = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => join(APP_DIR, p));
  return existsSync(built) && statSync(built).mtimeMs >= Math.max(...inputs.map(newestMtime));
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Holds a build lock (a directory: mkdir is atomic) while `fn` runs, so that test files running
 * side by side never build dist/ at once (one build empties dist/ under the other's server). A
 * lock left by a process that died is taken over.
 */
async function withBuildLock(fn: () => Promise<void>): Promise<void> {
  const lock = join(APP_DIR, '.e2e-build.lock');
  const owner = join(lock, 'pid');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(owner, String(process.pid));
      break;
    } catch {
      let holder = Number.NaN;
      try {
        holder = Number(readFileSync(owner, 'utf8'));
      } catch {
        // Being created or removed right now: look again shortly.
      }
      if (Number.isInteger(holder) && !processAlive(holder)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`waited 15 min for the build lock ${lock}`);
      else await sleep(500);
    }
  }
  try {
    await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Runs `vite build` unless dist/ is newer than src/, public/, index.html and vite.config.ts.
 * Asynchronous: a build (or the wait for another file's build) takes minutes on 2 shared cores,
 * longer than vitest lets a worker block.
 */
export async function ensureBuilt(log: (line: string) => void): Promise<void> {
  if (isFresh()) return;
  await withBuildLock(async () => {
    // Another test file may have built it while this one waited.
    if (isFresh()) return;
    log('building the app (dist/ is missing or older than the sources)');
    const child = spawn(process.execPath, [viteBin(), 'build', '--logLevel', 'warn'], {
      cwd: APP_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const status = await new Promise<number | null>((done) => child.once('close', done));
    if (status !== 0) throw new Error(`vite build failed (${status}):\n${output}`);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface PreviewServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `vite preview` and waits until it answers. It sends COOP/COEP (the page is cross-origin
 * isolated) unless `isolated` is false, as a static host without those headers would serve it.
 */
export async function startPreview(
  log: (line: string) => void,
  options: { isolated?: boolean } = {},
): Promise<PreviewServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [viteBin(), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    {
      cwd: APP_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, SEMSEG_WEB_ISOLATION: options.isolated === false ? 'off' : 'on' },
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${port}/`;
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((done) => child.once('exit', done));
    process.kill(-child.pid, 'SIGTERM'); // the whole group: npm-less, but vite may fork
    await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
    if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(url)).ok) {
        log(`serving ${url}${options.isolated === false ? ' without COOP/COEP' : ''}`);
        return { url, stop };
      }
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  await stop();
  throw new Error(`vite preview did not answer on ${url} within 60 s:\n${output}`);
}
