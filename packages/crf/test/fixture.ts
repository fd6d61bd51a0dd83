// Loads the reference case in test/fixtures (a copy of shared/fixtures/crf; see its README.md).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DenseCRF2D, type DenseCrfOptions } from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function floats(path: string): Float32Array {
  const bytes = readFileSync(join(root, path));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function bytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(root, path)));
}

export interface ReferenceParams {
  gaussian: { sxy: number; compat: number };
  bilateral: { sxy: number; srgb: number; compat: number };
  iterations: number;
  exact_vs_permutohedral: { label_agreement: number; mean_abs_q_diff: number };
}

export interface ReferenceCase {
  width: number;
  height: number;
  labels: number;
  rgb: Uint8Array;
  unary: Float32Array;
  gt: Uint8Array;
}

export function loadCase(): ReferenceCase {
  const meta = JSON.parse(readFileSync(join(root, 'b/case.json'), 'utf8')) as {
    H: number;
    W: number;
    C: number;
  };
  return {
    width: meta.W,
    height: meta.H,
    labels: meta.C,
    rgb: bytes('b/image.u8'),
    unary: floats('b/unary.f32'),
    gt: bytes('b/gt.u8'),
  };
}

export type ParamSet = 'P1' | 'P2';

export function loadResult(set: ParamSet) {
  const dir = `b_${set}`;
  return {
    params: JSON.parse(readFileSync(join(root, dir, 'params.json'), 'utf8')) as ReferenceParams,
    q: floats(`${dir}/q.f32`),
    labels: bytes(`${dir}/labels.u8`),
    qExact: floats(`${dir}/q_exact.f32`),
    labelsExact: bytes(`${dir}/labels_exact.u8`),
  };
}

export function labelAgreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

export function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Runs case b with parameter set `set` as the reference did, with the given CRF options. */
export function runCase(
  set: ParamSet,
  options: DenseCrfOptions = {},
): { q: Float32Array; labels: Uint8Array } {
  const scene = loadCase();
  const { params } = loadResult(set);
  const crf = new DenseCRF2D(scene.width, scene.height, scene.labels, options);
  crf.setUnaryEnergy(scene.unary);
  crf.addPairwiseGaussian({ sxy: params.gaussian.sxy, compat: params.gaussian.compat });
  crf.addPairwiseBilateral({
    sxy: params.bilateral.sxy,
    srgb: params.bilateral.srgb,
    rgb: scene.rgb,
    compat: params.bilateral.compat,
  });
  const q = crf.inference(params.iterations);
  return { q, labels: crf.map(q) };
}
