import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@semseg/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult, TEST_ENV, requireBuild, semseg } from './helpers/cli.js';

// Runs of the built CLI killed with SIGKILL at seeded random steps, before the first checkpoint
// and inside checkpoint writes, then resumed with a bare `--resume`: the weights (and the
// optimiser state, also in weights.bin) must equal an uninterrupted run's, bit for bit, on cpu.
const work = mkdtempSync(join(tmpdir(), 'semseg-cli-kill-'));
const data = join(work, 'data');
const STEPS = 9;
const ARGS = [
  'train',
  '--model',
  'fcn8s',
  '--width',
  '1/32',
  '--model-config',
  '{"alignment":"compact","dropout":0.5}',
  '--batch-size',
  '2',
  '--crop',
  '32',
  '--steps',
  String(STEPS),
  '--checkpoint-every',
  '2',
  '--keep',
  '2',
  '--eval-every',
  '3',
  '--save-best',
  'mIoU',
  '--optimizer',
  'adam',
  '--lr',
  '3e-3',
  '--seed',
  '4',
  '--log-every',
  '1',
];

interface Killed extends CliResult {
  signal: NodeJS.Signals | null;
}

/** Runs the CLI and kills it with SIGKILL as soon as stderr matches `trigger`. */
function runAndKill(
  args: readonly string[],
  trigger: RegExp,
  env: Record<string, string> = {},
): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...TEST_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (trigger.test(stderr)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const weights = (run: string, checkpoint = 'final') =>
  readFileSync(join(work, run, checkpoint, 'weights.bin'));

async function resume(run: string, extra: string[] = []): Promise<CliResult> {
  const result = await semseg(['train', '--out', join(work, run), '--resume', ...extra]);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function expectSameAsStraight(run: string): void {
  expect(weights(run).equals(weights('straight')), `${run}: final weights differ`).toBe(true);
  expect(weights(run, 'best').equals(weights('straight', 'best')), `${run}: best differs`).toBe(true);
  const entries = readdirSync(join(work, run)).sort();
  expect(entries).toEqual([
    'best',
    'final',
    'latest',
    'run.json',
    'step-00000008',
    'step-00000009',
    'train.jsonl',
  ]);
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  requireBuild();
  const synth = await semseg(['data', 'synth', data, '--count', '4', '--min-size', '32', '--max-size', '32']);
  expect(synth.code, synth.stderr).toBe(0);
  const straight = await semseg([
    ...ARGS,
    '--data',
    data,
    '--out',
    join(work, 'straight'),
    '--backend',
    'cpu',
  ]);
  expect(straight.code, straight.stderr).toBe(0);
  expect(straight.stdout).toMatch(new RegExp(`trained ${STEPS} steps .* on cpu`));
}, 120_000);

describe('SIGKILL at any moment, then --resume', () => {
  it('before the first checkpoint, inside two checkpoint writes and at a seeded random step: bit-identical', async () => {
    const out = join(work, 'killed');
    // 1. Before the first checkpoint (step 2): run.json but no checkpoint.
    let killed = await runAndKill([...ARGS, '--data', data, '--out', out, '--backend', 'cpu'], /step 1\//);
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(out, 'run.json'))).toBe(true);
    expect(existsSync(join(out, 'latest'))).toBe(false);

    // 2. Resumed (from step 0, the recorded settings and backend), killed writing step 4's
    // checkpoint: weights.bin written to the temporary folder, model.json not yet.
    killed = await runAndKill(['train', '--out', out, '--resume'], /SEMSEG_TEST_PAUSED/, {
      SEMSEG_TEST_PAUSE_IN_CHECKPOINT: 'weights-written@4',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toMatch(/from step 0/);
    expect(killed.stderr).toContain('SEMSEG_TEST_PAUSED weights-written 4');
    let left = readdirSync(out);
    expect(left.some((e) => e.startsWith('.latest.tmp-'))).toBe(true);
    expect(left).toContain('latest');

    // 3. Killed between the two renames of step 6's checkpoint: step 4's was moved aside, so
    // there is no `latest` at all.
    killed = await runAndKill(['train', '--out', out, '--resume'], /SEMSEG_TEST_PAUSED/, {
      SEMSEG_TEST_PAUSE_IN_CHECKPOINT: 'swapping@6',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toMatch(/resuming at step 2/);
    left = readdirSync(out);
    expect(left).not.toContain('latest');
    expect(left.some((e) => e.startsWith('.latest.old-'))).toBe(true);

    // 4. At a seeded random step after that (the kill lands wherever the process is then).
    const step = 7 + Math.floor(new Rng(2026).next() * 2);
    killed = await runAndKill(['train', '--out', out, '--resume'], new RegExp(`step ${step}/`));
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(killed.stderr).toMatch(/resuming at step 4/);

    // 5. To the end, on the recorded backend.
    const resumed = await resume('killed');
    expect(resumed.stdout).toMatch(/ on cpu:/);
    expectSameAsStraight('killed');
  }, 240_000);

  it('on wasm too (measured deterministic): killed at step 5 and resumed equals straight, bit for bit', async () => {
    const wasm = [...ARGS, '--data', data, '--backend', 'wasm'];
    const straight = await semseg([...wasm, '--out', join(work, 'wasm-straight')]);
    expect(straight.code, straight.stderr).toBe(0);
    const killed = await runAndKill([...wasm, '--out', join(work, 'wasm-killed')], /step 5\//);
    expect(killed.signal).toBe('SIGKILL');
    expect((await resume('wasm-killed')).stdout).toMatch(/ on wasm:/);
    expect(weights('wasm-killed').equals(weights('wasm-straight'))).toBe(true);
    expect(weights('wasm-killed', 'best').equals(weights('wasm-straight', 'best'))).toBe(true);
  }, 120_000);

  it('--backend on --resume wins over the recorded one', async () => {
    const result = await semseg([
      'train',
      '--out',
      join(work, 'straight'),
      '--resume',
      '--backend',
      'wasm',
      '--steps',
      String(STEPS + 1),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ on wasm:/);
  }, 120_000);
});
