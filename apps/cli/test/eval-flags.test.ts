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

// A bare --crf is resolved once the checkpoint is read: the preset its model declares.
describe('--crf and the checkpoint’s model', () => {
  const flags = (crf: string | true | undefined) => ({
    mode: 'whole' as const,
    scales: [1],
    windowBatch: 4,
    crf,
  });

  it('bare: the preset the architecture declares, else the one default, and says which', async () => {
    await import('../src/models.js');
    const { inferenceSettings } = await import('../src/commands/inference-options.js');
    const bare = inferenceSettings(flags(true)).crf;
    expect(bare({ name: 'deconvnet', config: {} })).toEqual({
      option: 'deconvNet',
      description: 'deconvNet, the preset deconvnet declares',
    });
    expect(bare({ name: 'deeplab-v1', config: {} })?.option).toBe('deeplabV1');
    expect(bare({ name: 'deeplab-v2', config: { backbone: 'resnet101' } })?.option).toBe(
      'deeplabV2Resnet101',
    );
    expect(bare({ name: 'fcn8s', config: {} })).toEqual({
      option: 'deeplabV1',
      description: 'deeplabV1, the default (fcn8s declares none)',
    });
    // A named preset wins over the model's; no --crf is no CRF.
    expect(inferenceSettings(flags('deconv-net')).crf({ name: 'fcn8s', config: {} })?.option).toBe(
      'deconvNet',
    );
    expect(inferenceSettings(flags(undefined)).crf({ name: 'deconvnet', config: {} })).toBeNull();
  });

  it('a bad value fails before any checkpoint is read', async () => {
    const { inferenceSettings } = await import('../src/commands/inference-options.js');
    expect(() => inferenceSettings(flags('no-such-preset'))).toThrow(
      /neither a preset .* nor a readable JSON file/,
    );
  });
});
