// Every registered architecture, width-reduced, on odd input sizes: the exported graph passes the
// ONNX checker (full_check) and onnxruntime gives the tfjs path's probabilities (max |dp| < 1e-4).
// The cases run in two test files (export-even, export-odd) so that vitest's two workers share them.
import '@tensorflow/tfjs-backend-cpu';
import '@semseg/deconvnet';
import '@semseg/deeplab';
import '@semseg/fc-densenet';
import '@semseg/fcn';
import '@semseg/pspnet';
import '@semseg/unet';
import { Rng, type SegmentationModel, createModel, listModels } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportOnnx, readMetadataProps, servedSizesOf, serves } from '../src/index.js';
import { CASES, type Case, DYNAMIC_SIZE } from './cases.js';
import {
  type CheckResult,
  checkModels,
  maxAbsDiff,
  onnxCheckerSkipReason,
  runOnnx,
  softmaxLast,
} from './helpers.js';
import { calibrateBatchNorm, randomizeWeights } from './random-weights.js';

const BATCH = 2;
const skip = onnxCheckerSkipReason();

/** The cases of one half of CASES (by index parity, which balances their cost). */
export function casesOfHalf(half: 0 | 1): Case[] {
  return CASES.filter((_, i) => i % 2 === half);
}

/** The export suite over `cases`: each exported, run against tfjs, and checked by the ONNX checker. */
export function describeExports(label: string, cases: readonly Case[]): void {
  describe.skipIf(skip !== null)(`exportOnnx: ${label}`, () => suite(cases));
}

function suite(cases: readonly Case[]): void {
  const exported: Record<string, Uint8Array> = {};
  const figures: Record<string, number> = {};
  const sizeFigures: Record<string, string[]> = {};
  const dynamic: Record<string, boolean> = {};
  let checks: Record<string, CheckResult> = {};
  let baseline = 0;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    baseline = tf.memory().numTensors;
  });

  afterAll(() => {
    console.log(`max |dp| per case: ${JSON.stringify(figures)}`);
    console.log(`dynamic size, max |dp| at other sizes: ${JSON.stringify(sizeFigures)}`);
  });

  const selected = cases.filter((x) => !process.env.ONLY || process.env.ONLY.split(',').includes(x.id));
  for (const c of selected) {
    test(`${c.id} ${c.size.join('x')}: onnxruntime matches tfjs`, async () => {
      const start = tf.memory().numTensors;
      const model = createModel(c.model, c.config, { rng: new Rng(7) }) as SegmentationModel;
      randomizeWeights(model, 11);
      const [h, w] = c.size;
      const x = tf.randomNormal([BATCH, h, w, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      try {
        calibrateBatchNorm(model, x);
        const before = tf.memory().numTensors;
        const reference = tf.tidy(() => model.forward(x));
        const logits = reference.dataSync() as Float32Array;
        const classes = reference.shape[3];
        const outShape = reference.shape;
        reference.dispose();
        const bytes = exportOnnx(model, { height: h, width: w, ...c.options });
        expect(tf.memory().numTensors).toBe(before);
        exported[c.id] = bytes;
        const result = await runOnnx(bytes, x.dataSync() as Float32Array, [BATCH, h, w, 3]);
        expect([...result.dims]).toEqual(outShape);
        const dp = maxAbsDiff(softmaxLast(result.data, classes), softmaxLast(logits, classes));
        figures[c.id] = Number(dp.toPrecision(2));
        // The logits are not constant (a translation error could not hide behind zero weights).
        let [lo, hi] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
        for (const v of logits) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
        expect(hi - lo).toBeGreaterThan(0.1);
        expect(dp).toBeLessThan(1e-4);
        const props = readMetadataProps(bytes, c.id);
        const sizes = servedSizesOf(props)!;
        dynamic[c.id] = sizes.height.modulus > 0;
        if (!dynamic[c.id]) {
          // A fixed size says why, and takes only the traced size.
          expect(props['semseg.dynamic_size']).toMatch(/^false: \S/);
          expect(sizes).toEqual({ height: { modulus: 0, min: h }, width: { modulus: 0, min: w } });
          return;
        }
        // The same graph at a smaller and a larger size it serves, against tfjs there (batch 1).
        expect(serves(sizes, h, w)).toBe(true);
        const [sh, sw] = [sizes.height.modulus, sizes.width.modulus];
        const smaller: [number, number] = [
          Math.max(sizes.height.min, h - sh),
          Math.max(sizes.width.min, w - sw),
        ];
        const others: Array<[number, number]> = [
          smaller[0] < h || smaller[1] < w ? smaller : [h + 2 * sh, w],
          c.largerAt ?? [h + sh, w + sw],
        ];
        sizeFigures[c.id] = [];
        for (const [oh, ow] of others) {
          expect(serves(sizes, oh, ow)).toBe(true);
          const y = tf.randomNormal([1, oh, ow, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
          const ref = tf.tidy(() => model.forward(y));
          const refLogits = ref.dataSync() as Float32Array;
          const refShape = ref.shape;
          ref.dispose();
          const at = await runOnnx(bytes, y.dataSync() as Float32Array, [1, oh, ow, 3]);
          expect([...at.dims]).toEqual(refShape);
          const d = maxAbsDiff(softmaxLast(at.data, classes), softmaxLast(refLogits, classes));
          sizeFigures[c.id]!.push(`${oh}x${ow}: ${d.toPrecision(2)}`);
          // Over 1e-4, the random net must be chaotic there: tfjs itself moves by at least half
          // as much when the input is scaled by 1 + 2^-22 (a translation error moves the
          // probabilities by tenths). DeconvNet's at 37x73: 1.2e-4 either way, on an AMD EPYC.
          if (d >= 1e-4) {
            const moved = tf.tidy(() => model.forward(tf.mul(y, 1 + 2 ** -22) as tf.Tensor4D));
            const self = maxAbsDiff(
              softmaxLast(moved.dataSync() as Float32Array, classes),
              softmaxLast(refLogits, classes),
            );
            moved.dispose();
            sizeFigures[c.id]!.push(`(tfjs itself: ${self.toPrecision(2)})`);
            expect(d).toBeLessThan(Math.max(1e-4, 2 * self));
            expect(d).toBeLessThan(1e-3);
          }
          y.dispose();
        }
      } finally {
        x.dispose();
        for (const e of model.namedEntries()) e.variable.dispose();
        expect(tf.memory().numTensors).toBe(start);
      }
    }, 60_000);
  }

  test('the architectures that allow it export with a dynamic input size', () => {
    const got = Object.keys(dynamic).filter((id) => dynamic[id]);
    const ids = new Set(selected.map((c) => c.id));
    const expected = DYNAMIC_SIZE.filter((id) => ids.has(id));
    expect(got.sort()).toEqual(expected.sort());
  });

  test('the ONNX checker (full_check) accepts every exported graph', async () => {
    checks = await checkModels(exported);
    const failed = Object.entries(checks).filter(([, r]) => !r.ok);
    expect(failed).toEqual([]);
    expect(Object.keys(checks).sort()).toEqual(Object.keys(exported).sort());
    for (const r of Object.values(checks)) expect(r.opset).toBe(17);
    // Every architecture exports as one batch-generic graph (no per-sample Scan fallback).
    const scanned = Object.entries(checks).filter(
      ([, r]) => !r.meta?.['semseg.batch']?.includes('one graph for any batch'),
    );
    expect(scanned.map(([n]) => n)).toEqual([]);
  }, 120_000);

  test('no tensor is left behind', () => {
    expect(tf.memory().numTensors).toBe(baseline);
  });
}

/** Every registered architecture has a case, and the halves together are every case once. */
export function describeCoverage(): void {
  test('the cases cover every registered architecture, and the two halves every case', () => {
    const covered = new Set(CASES.map((c) => c.model));
    expect(
      listModels()
        .map((m) => m.name)
        .filter((n) => !covered.has(n)),
    ).toEqual([]);
    const halves = [...casesOfHalf(0), ...casesOfHalf(1)].map((c) => c.id);
    expect(halves.sort()).toEqual(CASES.map((c) => c.id).sort());
    const ids = new Set(CASES.map((c) => c.id));
    expect(DYNAMIC_SIZE.filter((id) => !ids.has(id))).toEqual([]);
  });
}
