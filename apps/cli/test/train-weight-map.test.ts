// `semseg train --weight-map`: U-Net's per-pixel loss weights on every crop, through the built CLI.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneLineFailure, requireBuild, semseg } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'semseg-cli-weight-map-'));
const data = join(work, 'data');
const UNET = ['--model', 'unet', '--width', '1/16', '--model-config', '{"padding":"same","depth":2}'];
const TINY = ['--steps', '2', '--batch-size', '2', '--crop', '32', '--log-every', '1', '--backend', 'cpu'];

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  requireBuild();
  const synth = await semseg([
    'data',
    'synth',
    data,
    '--count',
    '4',
    '--min-size',
    '40',
    '--max-size',
    '48',
    '--classes',
    '3',
    '--seed',
    '2',
  ]);
  expect(synth.code, synth.stderr).toBe(0);
});

describe('semseg train --weight-map', () => {
  it("trains U-Net with the paper's weight map and records it in the run and its recipe", async () => {
    const out = join(work, 'unet');
    const result = await semseg([
      'train',
      '--data',
      data,
      '--out',
      out,
      ...UNET,
      ...TINY,
      '--weight-map',
      '--weight-map-sigma',
      '3',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /loss +cross-entropy averaged over labelled pixels, per-pixel weight map \(sigma 3\)/,
    );
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.weightMap).toEqual({ sigma: 3 });
    const steps = readFileSync(join(out, 'train.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.event === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2]);
    for (const s of steps) expect(Number.isFinite(s.loss) && s.loss > 0).toBe(true);
    // The same run without the map (same seed, crops and initialisation) has another loss.
    const plainOut = join(work, 'unet-plain');
    const plain = await semseg(['train', '--data', data, '--out', plainOut, ...UNET, ...TINY]);
    expect(plain.code, plain.stderr).toBe(0);
    const plainFirst = JSON.parse(readFileSync(join(plainOut, 'train.jsonl'), 'utf8').split('\n')[1]!);
    expect(plainFirst.step).toBe(1);
    expect(Math.abs(plainFirst.loss - steps[0].loss)).toBeGreaterThan(0.1);
  }, 120_000);

  it('refuses it for a model without a weight map, and its parameters without it', async () => {
    const fcn = await semseg([
      'train',
      '--data',
      data,
      '--out',
      join(work, 'fcn'),
      '--model',
      'fcn8s',
      '--width',
      '1/32',
      ...TINY,
      '--weight-map',
    ]);
    expectOneLineFailure(fcn, /--weight-map: model fcn8s has no per-pixel weight map/);
    const orphan = await semseg([
      'train',
      '--data',
      data,
      '--out',
      join(work, 'orphan'),
      ...UNET,
      ...TINY,
      '--weight-map-w0',
      '5',
    ]);
    expectOneLineFailure(orphan, /add --weight-map/);
  }, 60_000);
});
