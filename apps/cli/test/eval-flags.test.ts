import { SHARD_INDEX_VARIABLES } from '@semseg/engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

// parseShard is @semseg/engine's (tested there); the CLI turns its errors into usage errors.
describe('eval --shard', () => {
  const saved = new Map<string, string | undefined>();
  beforeEach(() => {
    for (const name of SHARD_INDEX_VARIABLES) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
  });
  afterEach(() => {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  });

  it('is a one-line usage error (exit 2) when the shard is out of range or unreadable', async () => {
    expect(await run('eval', '--checkpoint', 'c', '--data', 'd', '--shard', '8/8')).toEqual({
      code: 2,
      stderr:
        "semseg: option '--shard <i/n|auto/n|auto>' argument '8/8' is invalid. shard index 8 is outside 0..7\n",
    });
    const auto = await run('eval', '--checkpoint', 'c', '--data', 'd', '--shard', 'auto/4');
    expect(auto.code).toBe(2);
    expect(auto.stderr).toMatch(
      /^semseg: option '--shard .*' argument 'auto\/4' is invalid\. shard 'auto' needs the shard index/,
    );
  });
});
