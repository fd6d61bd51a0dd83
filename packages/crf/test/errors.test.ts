import { describe, expect, it } from 'vitest';
import {
  DenseCRF,
  DenseCRF2D,
  InputError,
  runDenseCrf,
  unaryFromLabels,
  unaryFromProbabilities,
} from '../src/index.js';

function crf2d() {
  const crf = new DenseCRF2D(4, 3, 2);
  return crf;
}
const rgb = new Uint8Array(4 * 3 * 3);

function expectInputError(fn: () => unknown, argument: string, message: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).argument).toBe(argument);
    expect((error as InputError).code).toBe('E_INPUT');
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected an InputError about ${argument}`);
}

describe('bad input gives a clear InputError', () => {
  it('fewer than 2 labels, bad sizes', () => {
    expectInputError(() => new DenseCRF2D(4, 3, 1), 'labels', /from 2 to 256, got 1/);
    expectInputError(() => new DenseCRF2D(4, 3, 300), 'labels', /got 300/);
    expectInputError(() => new DenseCRF2D(0, 3, 2), 'width', /positive integer, got 0/);
    expectInputError(() => new DenseCRF2D(4, 2.5, 2), 'height', /positive integer/);
    expectInputError(
      () => new DenseCRF(10, 2, { method: 'fast' as 'exact' }),
      'options.method',
      /'lattice' or 'exact'/,
    );
  });

  it('mismatched array lengths', () => {
    expectInputError(() => crf2d().setUnaryEnergy(new Float32Array(23)), 'unary', /length 23, expected 24/);
    expectInputError(
      () => crf2d().addPairwiseBilateral({ sxy: 3, srgb: 3, rgb: new Uint8Array(35), compat: 1 }),
      'rgb',
      /length 35, expected 36/,
    );
    expectInputError(
      () => crf2d().addPairwiseBilateral({ sxy: 3, srgb: 3, rgb: new Uint8Array(48), compat: 1 }),
      'rgb',
      /RGBA\?\); pass rgbaToRgb/,
    );
    expectInputError(
      () => new DenseCRF(5, 2).addPairwiseEnergy(new Float32Array(9), 2, { compat: 1 }),
      'features',
      /expected 10/,
    );
    expectInputError(
      () => crf2d().addPairwiseGaussian({ sxy: 3, compat: { diagonal: [1, 2, 3] } }),
      'compat.diagonal',
      /length 3, expected 2/,
    );
    expectInputError(
      () => crf2d().addPairwiseGaussian({ sxy: 3, compat: { matrix: [1, 2, 3] } }),
      'compat.matrix',
      /expected 4/,
    );
    const crf = crf2d();
    crf.setUnaryEnergy(new Float32Array(24));
    expectInputError(() => crf.map(new Float32Array(5)), 'q', /length 5, expected 24/);
    expectInputError(
      () => crf.stepInference({ q: new Float32Array(3), iteration: 0 }),
      'state',
      /startInference/,
    );
  });

  it('non-finite unaries and features', () => {
    const unary = new Float32Array(24);
    unary[7] = Number.POSITIVE_INFINITY;
    expectInputError(
      () => crf2d().setUnaryEnergy(unary),
      'unary',
      /Infinity at index 7 \(pixel 3, label 1\)/,
    );
    unary[7] = Number.NaN;
    expectInputError(() => crf2d().setUnaryEnergy(unary), 'unary', /NaN/);
    expectInputError(
      () => new DenseCRF(2, 2).addPairwiseEnergy(new Float32Array([0, Number.NaN]), 1, { compat: 1 }),
      'features',
      /NaN/,
    );
    expectInputError(
      () => crf2d().setUnaryEnergy([1, 2] as unknown as Float32Array),
      'unary',
      /Float32Array/,
    );
  });

  it('zero or negative sxy / srgb, bad compat', () => {
    expectInputError(() => crf2d().addPairwiseGaussian({ sxy: 0, compat: 3 }), 'sxy', /> 0, got 0/);
    expectInputError(() => crf2d().addPairwiseGaussian({ sxy: [3, -1], compat: 3 }), 'sxy[1]', /> 0, got -1/);
    expectInputError(
      () => crf2d().addPairwiseBilateral({ sxy: 3, srgb: -2, rgb, compat: 3 }),
      'srgb',
      /got -2/,
    );
    expectInputError(
      () => crf2d().addPairwiseBilateral({ sxy: 3, srgb: [1, 0, 1], rgb, compat: 3 }),
      'srgb[1]',
      /got 0/,
    );
    expectInputError(() => crf2d().addPairwiseGaussian({ sxy: Number.NaN, compat: 3 }), 'sxy', /got NaN/);
    expectInputError(() => crf2d().addPairwiseGaussian({ sxy: 3, compat: Number.NaN }), 'compat', /finite/);
    expectInputError(
      () => crf2d().addPairwiseGaussian({ sxy: 3, compat: 'potts' as unknown as number }),
      'compat',
      /Potts/,
    );
    expectInputError(
      () => crf2d().addPairwiseGaussian({ sxy: 3, compat: 1, normalization: 'l2' as 'none' }),
      'normalization',
      /symmetric/,
    );
  });

  it('inference before setUnaryEnergy, bad iteration counts', () => {
    expectInputError(() => crf2d().inference(5), 'unary', /setUnaryEnergy must be called/);
    const crf = crf2d();
    crf.setUnaryEnergy(new Float32Array(24));
    expectInputError(() => crf.inference(-1), 'iterations', /non-negative integer, got -1/);
    expectInputError(() => crf.inference(1.5), 'iterations', /got 1.5/);
  });

  it('unary helpers and presets', () => {
    expectInputError(
      () => unaryFromProbabilities(new Float32Array([0.5, 0.5, 1]), 2),
      'probabilities',
      /multiple of 2/,
    );
    expectInputError(
      () => unaryFromProbabilities(new Float32Array([0.5, 1.5]), 2),
      'probabilities',
      /\[0, 1\]/,
    );
    expectInputError(
      () => unaryFromProbabilities(new Float32Array([0.5, 0.5]), 2, { clip: 0 }),
      'options.clip',
      /\(0, 1\]/,
    );
    expectInputError(() => unaryFromLabels(new Uint8Array([3]), 3), 'labelMap', /holds 3 at pixel 0/);
    expectInputError(
      () => unaryFromLabels(new Uint8Array([1]), 3, { gtProb: 1 }),
      'options.gtProb',
      /\(0, 1\)/,
    );
    const input = { width: 4, height: 3, labels: 2, unary: new Float32Array(24), rgb };
    expectInputError(
      () => runDenseCrf(input, 'crfasrnn' as 'deeplabV1'),
      'settings',
      /unknown preset 'crfasrnn'/,
    );
  });
});
