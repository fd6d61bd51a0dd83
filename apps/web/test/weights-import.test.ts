// Foreign weights into a checkpoint as the import worker does it (its job, here on Node's cpu
// backend): the file's architecture found from its names, the checkpoint's tensors equal to the
// model that wrote the file, and each refusal (no fit, too large, several fits) said plainly.
import '@tensorflow/tfjs-backend-cpu';
import {
  Module,
  type Normalization,
  Rng,
  type SegmentationModel,
  decodeCheckpoint,
  getModelDefinition,
  registerModel,
} from '@semseg/core';
import { exportWeights } from '@semseg/engine';
import { readWeights, writePytorch } from '@semseg/weights';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../src/models.js';
import { convertWeightsFile } from '../src/weights-import/convert.js';
import { rankArchitectures } from '../src/weights-import/match.js';

const BUDGET = { totalBytes: 2 ** 30, basis: 'a test budget' };
const noChoice = () => Promise.reject(new Error('no choice expected'));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function lrasppFile(numClasses: number): Promise<{ bytes: Uint8Array; model: SegmentationModel }> {
  const definition = getModelDefinition('lraspp-mobilenetv3-large');
  const model = definition.create(definition.configSchema.parse({ numClasses }), { rng: new Rng(3) });
  return { bytes: await exportWeights(model, definition, { to: 'pth' }), model };
}

describe('convertWeightsFile', () => {
  it('finds lraspp in a torchvision-named .pth, reads its classes, and keeps every tensor', async () => {
    const { bytes, model } = await lrasppFile(5);
    const before = tf.memory().numTensors;
    const file = await readWeights({ name: 'lraspp.pth', data: bytes });
    const stages: string[] = [];
    const converted = await convertWeightsFile(file, {
      budget: BUDGET,
      choose: noChoice,
      progress: (stage) => stages.push(stage),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(stages).toEqual(['matching', 'converting', 'encoding']);
    expect(converted.summary).toMatchObject({
      architecture: 'lraspp-mobilenetv3-large',
      numClasses: 5,
      fitted: ['lraspp-mobilenetv3-large'],
    });
    const decoded = decodeCheckpoint(converted.modelJsonText, converted.weights);
    expect(decoded.meta.classes).toEqual(['class_0', 'class_1', 'class_2', 'class_3', 'class_4']);
    expect(decoded.meta.normalization).toMatchObject({ channelOrder: 'rgb', scale: 1 });
    const ours = model.stateDict();
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(ours).sort());
    for (const [name, t] of Object.entries(ours)) {
      expect([...decoded.tensors[name]!.dataSync()], name).toEqual([...t.dataSync()]);
    }
    tf.dispose(Object.values(decoded.tensors));
    model.dispose();
  });

  it('takes a torchvision state_dict saved without its auxiliary head', async () => {
    const definition = getModelDefinition('deeplabv3-mobilenetv3-large');
    const model = definition.create(definition.configSchema.parse({ auxLoss: false }), { rng: new Rng(4) });
    const bytes = await exportWeights(model, definition, { to: 'pth' });
    model.dispose();
    const file = await readWeights({ name: 'deeplabv3.pth', data: bytes });
    expect([...file.tensors.keys()].some((k) => k.startsWith('aux_classifier.'))).toBe(false);
    const converted = await convertWeightsFile(file, { budget: BUDGET, choose: noChoice });
    expect(converted.summary.architecture).toBe('deeplabv3-mobilenetv3-large');
    expect(JSON.parse(converted.modelJsonText).architecture.config).toMatchObject({
      auxLoss: false,
      numClasses: 21,
    });
  });

  it('says which architecture came closest when none fits', async () => {
    const { bytes, model } = await lrasppFile(21);
    model.dispose();
    const file = await readWeights({ name: 'lraspp.pth', data: bytes });
    file.tensors.delete('classifier.low_classifier.weight');
    file.tensors.set('extra.weight', file.tensors.get('classifier.low_classifier.bias')!);
    await expect(convertWeightsFile(file, { budget: BUDGET, choose: noChoice })).rejects.toThrow(
      /^lraspp\.pth: fits no architecture of this page \(\d+ checked\); closest: lraspp-mobilenetv3-large \(torchvision's lraspp_mobilenet_v3_large state_dict\), but it lacks 1 tensors \('classifier\.low_classifier\.weight'\) and 1 of its tensors have no place \('extra\.weight'\)$/,
    );
  });

  it('refuses a model over the device budget before building it', async () => {
    const { bytes, model } = await lrasppFile(21);
    model.dispose();
    const file = await readWeights({ name: 'lraspp.pth', data: bytes });
    await expect(
      convertWeightsFile(file, {
        budget: { totalBytes: 4e6, basis: 'a small test budget' },
        choose: noChoice,
      }),
    ).rejects.toThrow(
      /^lraspp\.pth: is a lraspp-mobilenetv3-large, too large for this device: the model needs 1[23]\.\d MB of weights, more than this device allows \(4\.0 MB, a small test budget\)$/,
    );
  });

  it('names the format when it is not a weights file', async () => {
    await expect(
      readWeights({ name: 'notes.pth', data: new TextEncoder().encode('notes\n') }),
    ).rejects.toThrow(/^notes\.pth: is not a weights file this reader knows/);
    const unrelated = await readWeights({
      name: 'mlp.pth',
      data: writePytorch(
        new Map([['fc.weight', { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }]]),
      ),
    });
    await expect(convertWeightsFile(unrelated, { budget: BUDGET, choose: noChoice })).rejects.toThrow(
      /^mlp\.pth: fits no architecture of this page \(\d+ checked\); closest: fcn32s /,
    );
  });
});

// Two architectures with the same parameter names: the page must ask which one the file is.
class TwinModel extends Module implements SegmentationModel {
  readonly numClasses = 2;
  readonly normalization: Normalization = {
    mean: [0, 0, 0],
    std: [1, 1, 1],
    scale: 255,
    channelOrder: 'rgb',
  };
  readonly config = {};
  private readonly weight: tf.Variable;
  constructor() {
    super();
    this.weight = this.registerParameter('weight', tf.zeros([1, 1, 3, 2]));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.conv2d(x, this.weight as tf.Tensor4D, 1, 'same');
  }
}

describe('several fitting architectures', () => {
  beforeAll(() => {
    for (const name of ['test-twin-a', 'test-twin-b']) {
      registerModel({
        name,
        description: `a test twin (${name})`,
        configSchema: z.object({}),
        create: () => new TwinModel(),
        weightMaps: () => [
          {
            format: 'pytorch',
            description: 'twin names',
            source: (p) => ({ key: `head.${p}`, layout: 'conv' }),
            normalization: { mean: [0, 0, 0], std: [1, 1, 1], scale: 255, channelOrder: 'rgb' },
          },
        ],
      });
    }
  });

  it('asks the user, converts the one chosen, and stops when the choice is cancelled', async () => {
    const data = writePytorch(
      new Map([
        [
          'head.weight',
          { dtype: 'float32', shape: [2, 3, 1, 1], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        ],
      ]),
    );
    const file = await readWeights({ name: 'twin.pth', data });
    expect(
      rankArchitectures(file)
        .slice(0, 2)
        .map((f) => f.name),
    ).toEqual(['test-twin-a', 'test-twin-b']);
    let offered: string[] = [];
    const converted = await convertWeightsFile(file, {
      budget: BUDGET,
      choose: async (fits) => {
        offered = fits.map((f) => f.name);
        return 'test-twin-b';
      },
    });
    expect(offered).toEqual(['test-twin-a', 'test-twin-b']);
    expect(converted.summary.architecture).toBe('test-twin-b');
    const decoded = decodeCheckpoint(converted.modelJsonText, converted.weights);
    // OIHW [2, 3, 1, 1] -> HWIO [1, 1, 3, 2]
    expect([...decoded.tensors.weight!.dataSync()]).toEqual([1, 4, 2, 5, 3, 6]);
    tf.dispose(Object.values(decoded.tensors));
    await expect(convertWeightsFile(file, { budget: BUDGET, choose: async () => null })).rejects.toThrow(
      'twin.pth: import cancelled',
    );
  });
});
