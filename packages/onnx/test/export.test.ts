// Every registered architecture, width-reduced, on odd input sizes: the exported graph passes the
// ONNX checker (full_check) and onnxruntime gives the tfjs path's probabilities (max |dp| < 1e-4).
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
import { type ExportOnnxOptions, exportOnnx } from '../src/index.js';
import {
  type CheckResult,
  checkModels,
  maxAbsDiff,
  onnxCheckerSkipReason,
  runOnnx,
  softmaxLast,
} from './helpers.js';
import { calibrateBatchNorm, randomizeWeights } from './random-weights.js';

interface Case {
  id: string;
  model: string;
  config: Record<string, unknown>;
  size: [number, number];
  options?: Partial<ExportOnnxOptions>;
}

const W = { width: 1 / 8, numClasses: 5 };
/** FCN's reference alignment pads conv1 by 100: the narrowest widths keep those cases fast. */
const FCN = { width: 1 / 32, numClasses: 5 };
const CASES: Case[] = [
  { id: 'fcn32s', model: 'fcn32s', config: FCN, size: [37, 41] },
  { id: 'fcn16s', model: 'fcn16s', config: FCN, size: [35, 29] },
  { id: 'fcn8s', model: 'fcn8s', config: FCN, size: [33, 45] },
  { id: 'fcn8s-compact', model: 'fcn8s', config: { ...W, alignment: 'compact' }, size: [47, 39] },
  {
    id: 'fcn8s-learnable-bn',
    model: 'fcn8s',
    config: { ...FCN, learnableUpsampling: true, batchNorm: true },
    size: [31, 37],
  },
  { id: 'fcn-resnet50', model: 'fcn-resnet50', config: W, size: [37, 43] },
  { id: 'fcn-resnet101', model: 'fcn-resnet101', config: { ...W, width: 1 / 16 }, size: [33, 35] },
  {
    id: 'deconvnet',
    model: 'deconvnet',
    config: { ...W, width: 1 / 16, fc6Padding: 'same' },
    size: [37, 41],
  },
  { id: 'segnet', model: 'segnet', config: W, size: [37, 43] },
  { id: 'segnet-basic', model: 'segnet', config: { ...W, variant: 'basic' }, size: [35, 41] },
  { id: 'deeplab-v1', model: 'deeplab-v1', config: W, size: [41, 39] },
  { id: 'deeplab-v1-resize', model: 'deeplab-v1', config: { ...W, sizeRule: 'resize' }, size: [38, 43] },
  { id: 'deeplab-v2-msc', model: 'deeplab-v2', config: { ...W, scales: [1, 0.75, 0.5] }, size: [41, 45] },
  {
    id: 'deeplab-v2-resnet101',
    model: 'deeplab-v2',
    config: { ...W, width: 1 / 16, backbone: 'resnet101' },
    size: [33, 37],
  },
  { id: 'dilatednet', model: 'dilatednet', config: { ...W, alignment: 'same' }, size: [37, 41] },
  {
    id: 'dilatednet-reference',
    model: 'dilatednet',
    config: { ...W, width: 1 / 16, context: 'basic' },
    size: [21, 19],
  },
  {
    id: 'dilated-context',
    model: 'dilated-context',
    config: { model: 'deeplab-v1', modelConfig: W, context: 'basic' },
    size: [35, 37],
  },
  { id: 'deeplabv3-resnet50', model: 'deeplabv3-resnet50', config: W, size: [37, 41] },
  {
    id: 'deeplabv3-resnet101',
    model: 'deeplabv3-resnet101',
    config: { ...W, width: 1 / 16 },
    size: [33, 31],
  },
  { id: 'deeplabv3plus-resnet50', model: 'deeplabv3plus-resnet50', config: W, size: [39, 37] },
  {
    id: 'deeplabv3plus-resnet101',
    model: 'deeplabv3plus-resnet101',
    config: { ...W, width: 1 / 16 },
    size: [35, 33],
  },
  {
    id: 'deeplabv3-mobilenetv3',
    model: 'deeplabv3-mobilenetv3-large',
    config: { ...W, width: 0.25 },
    size: [37, 43],
  },
  {
    id: 'lraspp-mobilenetv3',
    model: 'lraspp-mobilenetv3-large',
    config: { ...W, width: 0.25 },
    size: [41, 35],
  },
  { id: 'pspnet-resnet50', model: 'pspnet-resnet50', config: W, size: [37, 41] },
  { id: 'pspnet-resnet101', model: 'pspnet-resnet101', config: { ...W, width: 1 / 16 }, size: [33, 39] },
  { id: 'unet-valid', model: 'unet', config: { ...W, depth: 2, baseChannels: 8 }, size: [61, 57] },
  { id: 'unet-same-bn', model: 'unet', config: { ...W, padding: 'same', batchNorm: true }, size: [37, 41] },
  ...['56', '67', '103'].map((v) => ({
    id: `fc-densenet${v}`,
    model: `fc-densenet${v}`,
    config: { numClasses: 5, growthRate: 3, firstConvChannels: 6 },
    size: [37, 41] as [number, number],
  })),
];

const BATCH = 2;
const skip = onnxCheckerSkipReason();

describe.skipIf(skip !== null)('exportOnnx: every registered architecture', () => {
  const exported: Record<string, Uint8Array> = {};
  const figures: Record<string, number> = {};
  let checks: Record<string, CheckResult> = {};
  let baseline = 0;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    baseline = tf.memory().numTensors;
  });

  afterAll(() => {
    console.log(`max |dp| per case: ${JSON.stringify(figures)}`);
  });

  test('the cases cover every registered architecture', () => {
    const covered = new Set(CASES.map((c) => c.model));
    expect(
      listModels()
        .map((m) => m.name)
        .filter((n) => !covered.has(n)),
    ).toEqual([]);
  });

  for (const c of CASES) {
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
      } finally {
        x.dispose();
        for (const e of model.namedEntries()) e.variable.dispose();
        expect(tf.memory().numTensors).toBe(start);
      }
    }, 60_000);
  }

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
});
