import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBuild } from './helpers/cli.js';

// `npx semseg` from a clone: npm links a package's bin at install time, before `npm run build`
// makes dist/bin.js, so the bin is a committed stub (bin/semseg.js) that imports the build.
const cli = fileURLToPath(new URL('..', import.meta.url));
const root = join(cli, '..', '..');
const stub = join(cli, 'bin', 'semseg.js');
const work = mkdtempSync(join(tmpdir(), 'semseg-bin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the semseg bin', () => {
  it('is the committed stub, in package.json and in the lockfile npm ci links from', () => {
    const pkg = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ semseg: './bin/semseg.js' });
    expect(pkg.files).toContain('bin');
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    expect(lock.packages['apps/cli'].bin).toEqual({ semseg: 'bin/semseg.js' });
    const tracked = spawnSync('git', ['ls-files', '--error-unmatch', 'apps/cli/bin/semseg.js'], {
      cwd: root,
    });
    expect(tracked.status, 'bin/semseg.js must be committed, not built').toBe(0);
  });

  it('node_modules/.bin/semseg --help runs the CLI', () => {
    requireBuild();
    const bin = join(root, 'node_modules', '.bin', 'semseg');
    expect(realpathSync(bin)).toBe(realpathSync(stub));
    const result = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: semseg \[options\] \[command\]/);
    expect(result.stdout).toMatch(/\btrain\b/);
  });

  it('without a build, says so in one line instead of a stack trace', () => {
    // A copy of the stub in a package folder with no dist/.
    mkdirSync(join(work, 'bin'));
    copyFileSync(stub, join(work, 'bin', 'semseg.js'));
    const result = spawnSync(process.execPath, [join(work, 'bin', 'semseg.js'), '--help'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `semseg: ${join(work, 'dist', 'bin.js')} is missing: build the CLI first (npm run build at the repository root)\n`,
    );
  });
});
