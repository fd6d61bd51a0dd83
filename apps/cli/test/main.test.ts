import { describe, expect, it } from 'vitest';
import { describeFailure } from '../src/errors.js';
import { main } from '../src/main.js';

async function run(...args: string[]) {
  let stderr = '';
  const code = await main(['node', 'semseg', ...args], {
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stderr };
}

describe('main', () => {
  it('turns flag errors into one usage line and exit code 2', async () => {
    const result = await run('eval', '--checkpoint', 'c', '--data', 'd', '--mode', 'tiles');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "semseg: option '--mode <mode>' argument 'tiles' is invalid. Allowed choices are whole, slide.\n",
    );
    const missing = await run('predict', 'a.jpg', '--out', 'o');
    expect(missing).toEqual({
      code: 2,
      stderr: "semseg: required option '--checkpoint <dir>' not specified\n",
    });
    const bad = await run('train', '--batch-size', '1.5');
    expect(bad.stderr).toMatch(
      /^semseg: option '--batch-size <n>' argument '1.5' is invalid\. expected a whole number >= 1, got '1.5'\n$/,
    );
  });

  it('suggests the command meant', async () => {
    const result = await run('predcit');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'predcit'.*Did you mean predict\?/);
  });

  it('exits 0 on --help and --version', async () => {
    expect((await run('--version')).code).toBe(0);
  });
});

describe('describeFailure', () => {
  it("shows the packages' own errors as they are, on one line", () => {
    const error = Object.assign(new Error('ckpt/model.json: truncated\nweights'), { code: 'E_CHECKPOINT' });
    expect(describeFailure(error)).toEqual({ line: 'ckpt/model.json: truncated weights', unexpected: false });
  });

  it('names the path of file-system errors', () => {
    const error = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
      path: 'x',
    });
    expect(describeFailure(error)).toEqual({ line: 'x: no such file or folder', unexpected: false });
  });

  it('marks anything else as unexpected', () => {
    expect(describeFailure(new TypeError('a is undefined'))).toEqual({
      line: 'unexpected error: TypeError: a is undefined',
      unexpected: true,
    });
  });
});
