// Builds the app when its build is missing or older than its sources, and serves it with
// `vite preview` on 127.0.0.1 on a free port, as `npm run web` does.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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

/** Runs `vite build` unless dist/ is newer than src/, public/, index.html and vite.config.ts. */
export function ensureBuilt(log: (line: string) => void): void {
  const built = join(APP_DIR, 'dist', 'index.html');
  const inputs = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => join(APP_DIR, p));
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...inputs.map(newestMtime))) return;
  log('building the app (dist/ is missing or older than the sources)');
  const result = spawnSync(process.execPath, [viteBin(), 'build', '--logLevel', 'warn'], {
    cwd: APP_DIR,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
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

/** Starts `vite preview` and waits until it answers. */
export async function startPreview(log: (line: string) => void): Promise<PreviewServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [viteBin(), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: APP_DIR, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
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
        log(`serving ${url}`);
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
