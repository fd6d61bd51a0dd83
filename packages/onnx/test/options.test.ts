// exportOnnx's options on one small model (U-Net, same padding, batch norm): a fixed batch, kept
// batch norms, softmax output and opset 18 all run in onnxruntime to the tfjs values; bad options
// and untranslatable kernels fail with one clear message; the model's mode is restored.
import '@tensorflow/tfjs-backend-cpu';
import '@semseg/unet';
import { ConfigError, Rng, type SegmentationModel, createModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExportError, exportOnnx, readMetadataProps, servedSizesOf } from '../src/index.js';
import {
  batchNormNodes,
  checkModels,
  maxAbsDiff,
  onnxCheckerSkipReason,
  runOnnx,
  softmaxLast,
} from './helpers.js';
import { calibrateBatchNorm, randomizeWeights } from './random-weights.js';

const [H, W, N, C] = [29, 35, 3, 4];

describe.skipIf(onnxCheckerSkipReason() !== null)('exportOnnx options', () => {
  let model: SegmentationModel;
  let x: tf.Tensor4D;
  let logits: Float32Array;
  let input: Float32Array;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = createModel(
      'unet',
      { padding: 'same', batchNorm: true, width: 1 / 8, depth: 3, numClasses: C },
      { rng: new Rng(1) },
    ) as SegmentationModel;
    randomizeWeights(model, 2);
    x = tf.randomNormal([N, H, W, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    calibrateBatchNorm(model, x);
    logits = tf.tidy(() => model.forward(x)).dataSync() as Float32Array;
    input = x.dataSync() as Float32Array;
  });

  afterAll(() => {
    x.dispose();
    for (const e of model.namedEntries()) e.variable.dispose();
  });

  test('fixed batch, kept batch norm, softmax and opset 18 agree with tfjs', async () => {
    const probabilities = softmaxLast(logits, C);
    const folded = exportOnnx(model, { height: H, width: W, batch: N });
    const kept = exportOnnx(model, { height: H, width: W, batch: N, keepBatchNorm: true });
    const soft = exportOnnx(model, { height: H, width: W, softmax: true });
    const opset18 = exportOnnx(model, { height: H, width: W, opset: 18 });
    for (const bytes of [folded, kept, opset18]) {
      const out = await runOnnx(bytes, input, [N, H, W, 3]);
      expect(maxAbsDiff(softmaxLast(out.data, C), probabilities)).toBeLessThan(1e-4);
    }
    const out = await runOnnx(soft, input, [N, H, W, 3]);
    expect(maxAbsDiff(out.data, probabilities)).toBeLessThan(1e-4);
    // Folding removes the batch norms' element-wise nodes (and their constants) from the file.
    expect(kept.length).toBeGreaterThan(folded.length);
    const checks = await checkModels({ folded, kept, soft });
    for (const r of Object.values(checks)) expect(r.error).toBeUndefined();
  }, 60_000);

  test('kept batch norms are BatchNormalization nodes with the running statistics', async () => {
    const kept = exportOnnx(model, { height: H, width: W, keepBatchNorm: true });
    const folded = exportOnnx(model, { height: H, width: W });
    const nodes = await batchNormNodes(kept);
    // Every batch norm of the model, once, with its own statistics, scale, shift and epsilon.
    const entries = model.namedEntries();
    const layers = entries.filter((e) => e.name.endsWith('.runningMean')).map((e) => e.name.slice(0, -12));
    expect(layers.length).toBeGreaterThan(4);
    expect(nodes).toHaveLength(layers.length);
    const values = (name: string) => [
      ...(entries.find((e) => e.name === name)!.variable.dataSync() as Float32Array),
    ];
    const round = (v: number[]) => v.map((x) => Math.fround(x));
    for (const layer of layers) {
      const mean = values(`${layer}.runningMean`);
      const node = nodes.find((n) => round(n.mean).join() === mean.join());
      expect(node, layer).toBeDefined();
      expect(round(node!.var)).toEqual(values(`${layer}.runningVar`));
      expect(round(node!.scale)).toEqual(values(`${layer}.weight`));
      expect(round(node!.bias)).toEqual(values(`${layer}.bias`));
      expect(node!.epsilon).toBeCloseTo(1e-5, 10);
    }
    // Folded (the default): every batch norm follows a conv, so none is left.
    expect(await batchNormNodes(folded)).toEqual([]);
    const out = await runOnnx(kept, input, [N, H, W, 3]);
    expect(maxAbsDiff(softmaxLast(out.data, C), softmaxLast(logits, C))).toBeLessThan(1e-4);
    const { kept: check } = await checkModels({ kept });
    expect(check?.error).toBeUndefined();
  }, 60_000);

  test('a forward that branches on the batch size falls back to a Scan over samples', async () => {
    // One slice per sample: the batch-1 and batch-2 traces run different kernel lists.
    const perSample = {
      numClasses: 3,
      training: false,
      eval() {},
      train() {},
      forward: (images: tf.Tensor4D) =>
        tf.tidy(() => {
          const [n, h, w, c] = images.shape;
          const parts = Array.from({ length: n }, (_, i) =>
            tf.mul(tf.slice(images, [i, 0, 0, 0], [1, h, w, c]), i + 2),
          );
          return tf.concat(parts, 0) as tf.Tensor4D;
        }),
    } as unknown as SegmentationModel;
    const bytes = exportOnnx(perSample, { height: 5, width: 7 });
    const data = Float32Array.from({ length: 3 * 5 * 7 * 3 }, (_, i) => i / 10);
    const out = await runOnnx(bytes, data, [3, 5, 7, 3]);
    // The batch-1 graph (times 2) runs on each sample.
    expect(
      maxAbsDiff(
        out.data,
        data.map((v) => v * 2),
      ),
    ).toBeLessThan(1e-6);
    const { scan } = await checkModels({ scan: bytes });
    expect(scan?.error).toBeUndefined();
    expect(scan?.meta?.['semseg.batch']).toContain('Scan');
  }, 60_000);

  test('the model goes back to training mode when it was training', () => {
    model.train();
    exportOnnx(model, { height: H, width: W, batch: 1 });
    expect(model.training).toBe(true);
    model.eval();
  });

  test('bad options are ConfigErrors naming the option', () => {
    expect(() => exportOnnx(model, { height: 0, width: W })).toThrow(ConfigError);
    expect(() => exportOnnx(model, { height: H, width: 2.5 })).toThrow(/width must be a positive integer/);
    expect(() => exportOnnx(model, { height: H, width: W, opset: 13 })).toThrow(/opset must be 17 to 18/);
    expect(() => exportOnnx(model, { height: H, width: W, batch: 0 })).toThrow(/batch must be/);
  });

  test('a size-dependent constant: auto falls back to a fixed size and says why, true refuses', async () => {
    // Each row scaled by its index squared: a constant [1, H, 1, 1] made for the traced height
    // (an arithmetic progression would be a Range of the run-time height).
    const rows = {
      numClasses: 3,
      training: false,
      eval() {},
      train() {},
      forward: (images: tf.Tensor4D) =>
        tf.tidy(() => {
          const h = images.shape[1];
          const index = tf.tensor4d(
            Float32Array.from({ length: h }, (_, i) => i * i),
            [1, h, 1, 1],
          );
          return tf.mul(images, index) as tf.Tensor4D;
        }),
    } as unknown as SegmentationModel;
    const bytes = exportOnnx(rows, { height: 5, width: 7 });
    const props = readMetadataProps(bytes, 'rows');
    expect(props['semseg.dynamic_size']).toMatch(
      /^false: a constant of shape \[1, 5, 1, 1\] that follows the input size/,
    );
    expect(servedSizesOf(props)).toEqual({ height: { modulus: 0, min: 5 }, width: { modulus: 0, min: 7 } });
    const data = Float32Array.from({ length: 5 * 7 * 3 }, (_, i) => i / 10);
    const out = await runOnnx(bytes, data, [1, 5, 7, 3]);
    expect(
      maxAbsDiff(
        out.data,
        data.map((v, i) => v * Math.floor(i / 21) ** 2),
      ),
    ).toBeLessThan(1e-6);
    expect(() => exportOnnx(rows, { height: 5, width: 7, dynamicSize: true })).toThrow(
      /this model's input size cannot be dynamic: a constant of shape \[1, 5, 1, 1\]/,
    );
    expect(() => exportOnnx(model, { height: H, width: W, dynamicSize: 'yes' as never })).toThrow(
      /dynamicSize must be true, false or 'auto'/,
    );
  });

  test('a kernel with no translation is one ExportError naming it', () => {
    const odd = {
      numClasses: 2,
      training: false,
      eval() {},
      train() {},
      forward: (images: tf.Tensor4D) =>
        tf.tidy(() => tf.tile(tf.cumsum(images, 3), [1, 1, 1, 1]) as tf.Tensor4D),
    } as unknown as SegmentationModel;
    expect(() => exportOnnx(odd, { height: 3, width: 3 })).toThrow(ExportError);
    expect(() => exportOnnx(odd, { height: 3, width: 3 })).toThrow(
      "the tfjs kernel 'Cumsum' has no ONNX translation",
    );
  });
});
