import { afterAll, describe, expect, it } from 'vitest';
import { DenseCRF2D, InputError } from '../src/index.js';
import { CrfThreadPool, inferenceThreaded } from '../src/node/index.js';
import { labelAgreement, loadCase, loadResult } from './fixture.js';
import { syntheticScene } from './scene.js';

const pool = new CrfThreadPool({ threads: 2 });
afterAll(() => pool.close());

describe('threaded inference (worker_threads)', () => {
  it('reproduces single-thread inference exactly on the reference case and matches the reference', async () => {
    const scene = loadCase();
    const { params, labels } = loadResult('P2');
    const crf = new DenseCRF2D(scene.width, scene.height, scene.labels);
    crf.setUnaryEnergy(scene.unary);
    crf.addPairwiseGaussian(params.gaussian);
    crf.addPairwiseBilateral({ ...params.bilateral, rgb: scene.rgb });
    const threaded = await pool.inference(crf, params.iterations);
    expect(threaded).toEqual(crf.inference(params.iterations));
    expect(labelAgreement(crf.map(threaded), labels)).toBe(1);
  });

  it('splits labels unevenly over 3 threads, with matrix and diagonal compatibilities', async () => {
    const scene = syntheticScene(33, 21, 5, 3);
    const crf = new DenseCRF2D(scene.width, scene.height, scene.labels);
    crf.setUnaryEnergy(scene.unary);
    const matrix = Array.from({ length: 25 }, (_, i) => (Math.floor(i / 5) === i % 5 ? 0 : 1 + (i % 3)));
    crf.addPairwiseGaussian({ sxy: 3, compat: { diagonal: [-1, -2, -3, -1, -2] } });
    crf.addPairwiseBilateral({ sxy: 15, srgb: 10, rgb: scene.rgb, compat: { matrix } });
    const single = crf.inference(4);
    const threaded = await inferenceThreaded(crf, 4, { threads: 3 });
    expect(threaded).toEqual(single);
    // Zero iterations: softmax(-U).
    expect(await pool.inference(crf, 0)).toEqual(crf.inference(0));
  });

  it('runs the js engine on threads too, equal to its single-thread Q', async () => {
    const scene = syntheticScene(45, 31, 7, 4);
    const crf = new DenseCRF2D(scene.width, scene.height, scene.labels, { engine: 'js' });
    crf.setUnaryEnergy(scene.unary);
    crf.addPairwiseGaussian({ sxy: 3, compat: 3 });
    crf.addPairwiseBilateral({
      sxy: 15,
      srgb: 10,
      rgb: scene.rgb,
      compat: { diagonal: [-1, -2, -3, -1, -2, -1, -4] },
    });
    expect(await pool.inference(crf, 3)).toEqual(crf.inference(3));
  });

  it('rejects the exact method and bad options with InputError', async () => {
    const scene = syntheticScene(8, 6, 2, 1);
    const crf = new DenseCRF2D(8, 6, 2, { method: 'exact' });
    crf.setUnaryEnergy(scene.unary);
    crf.addPairwiseGaussian({ sxy: 3, compat: 3 });
    await expect(pool.inference(crf, 1)).rejects.toThrow(/method 'lattice'/);
    await expect(pool.inference(crf, -2)).rejects.toBeInstanceOf(InputError);
    expect(() => new CrfThreadPool({ threads: 0 })).toThrow(/options.threads: must be a positive integer/);
  });
});
