import { Rng, createModel, getModelDefinition, getTrainPreset } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { FcDenseNet } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Parameters plus batch norm's running mean and variance (what the authors' summary counts). */
function withStatistics(model: FcDenseNet): number {
  return model.namedEntries().reduce((sum, e) => sum + e.variable.size, 0);
}

describe('FC-DenseNet parameter counts (11 CamVid classes, as the paper)', () => {
  // By hand. A dense layer on c channels: BN 2c + 3x3 conv 9ck + k. A transition down on c:
  // BN 2c + 1x1 conv c^2 + c. A transition up m -> m: 9m^2 + m. conv0: 9*3*48 + 48 = 1,344.
  // The classifier on c: 11c + 11. Batch norm's running mean and variance add 2c per BN (the
  // authors' Lasagne summary counts them, which is how the paper's 1.5M/3.5M/9.4M come out).
  it('FC-DenseNet56: 1,376,795 (1,397,963 with running statistics; paper: 1.5M)', () => {
    // k = 12, 4 layers per block. Down blocks from 48, 96, 144, 192, 240 channels: 29,088 + 50,208
    // + 71,328 + 92,448 + 113,568; transitions down on 96..288: 9,504 + 21,168 + 37,440 + 58,320
    // + 83,808; bottleneck on 288: 134,688; five transitions up 48 -> 48: 5 x 20,784; up blocks
    // from 336, 288, 240, 192, 144: 155,808 + 134,688 + 113,568 + 92,448 + 71,328; classifier on
    // 192: 2,123; conv0 1,344.
    const model = new FcDenseNet('56', {}, new Rng(0));
    expect(model.numParameters()).toBe(1_376_795);
    expect(withStatistics(model)).toBe(1_397_963);
    model.dispose();
  });

  it('FC-DenseNet67: 3,463,243 (3,502,923 with running statistics; paper: 3.5M)', () => {
    // k = 16, 5 layers: down blocks 58,480 + 116,880 + 175,280 + 233,680 + 292,080; transitions
    // down 16,768 + 43,888 + 83,808 + 136,528 + 202,048; bottleneck 350,480; 5 x 57,680 up (80 ->
    // 80); up blocks 408,880 + 350,480 + 292,080 + 233,680 + 175,280; classifier on 288: 3,179.
    const model = new FcDenseNet('67', {}, new Rng(0));
    expect(model.numParameters()).toBe(3_463_243);
    expect(withStatistics(model)).toBe(3_502_923);
    model.dispose();
  });

  it('FC-DenseNet103: 9,322,091 (9,425,163 with running statistics; paper: 9.4M), 103 layers', () => {
    // k = 16, blocks 4,5,7,10,12 | 15 | 12,10,7,5,4. Stacks 48 -> 112 -> 192 -> 304 -> 464 -> 656;
    // down blocks 42,112 + 105,200 + 245,392 + 549,120 + 967,296; transitions down 12,880 + 37,440
    // + 93,328 + 216,688 + 432,304; bottleneck on 656: 1,682,160 (240 new); transitions up 240,
    // 192, 160, 112, 80: 518,640 + 331,968 + 230,560 + 113,008 + 57,680; up blocks from 896, 656,
    // 464, 304, 192: 1,724,160 + 1,063,040 + 523,376 + 245,360 + 126,208; classifier on 256: 2,827.
    const model = new FcDenseNet('103', {}, new Rng(0));
    expect(model.numParameters()).toBe(9_322_091);
    expect(withStatistics(model)).toBe(9_425_163);
    const convs = model
      .namedParameters()
      .filter((p) => /(conv|conv0|deconv|classifier)\.weight$/.test(p.name));
    expect(convs.length).toBe(103);
    model.dispose();
  });
});

describe('FC-DenseNet', () => {
  const small = { growthRate: 3, layersPerBlock: [2, 2, 1, 2, 2], firstConvChannels: 6, numClasses: 4 };

  it.each([
    [37, 45],
    [32, 32],
    [17, 9],
  ])(
    'gives logits at the input size for %ix%i (odd maps pool down, transitions up crop to the skip)',
    (h, w) => {
      const model = new FcDenseNet('103', small, new Rng(1));
      model.eval();
      const before = tf.memory().numTensors;
      const x = tf.randomUniform([2, h, w, 3]) as tf.Tensor4D;
      const y = model.forward(x);
      expect(y.shape).toEqual([2, h, w, 4]);
      tf.dispose([x, y]);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    },
  );

  it('refuses inputs smaller than 2^pools with a clear error', () => {
    const model = new FcDenseNet('56', { numClasses: 2 }, new Rng(1));
    const x = tf.zeros([1, 16, 40, 3]) as tf.Tensor4D;
    expect(() => model.forward(x)).toThrow(/at least 32x32/);
    x.dispose();
    model.dispose();
  });

  it('names parameters after the paper: conv0, dense layers, transitions, classifier', () => {
    const model = new FcDenseNet('103', small, new Rng(1));
    const names = model.namedEntries().map((p) => p.name);
    expect(names.slice(0, 2)).toEqual(['conv0.weight', 'conv0.bias']);
    expect(names).toContain('down1.layer1.bn.weight');
    expect(names).toContain('down1.layer1.bn.runningMean');
    expect(names).toContain('down1.layer2.conv.weight');
    expect(names).toContain('td2.layer.conv.weight');
    expect(names).toContain('bottleneck.layer1.conv.bias');
    expect(names).toContain('tu2.deconv.weight');
    expect(names).toContain('up2.layer2.conv.weight');
    expect(names.at(-1)).toBe('classifier.bias');
    model.dispose();
  });

  it('initialises convolutions He-uniform (bound sqrt(6 / fan-in)) with zero biases', () => {
    const model = new FcDenseNet('67', {}, new Rng(2));
    const weight = model.down[2]!.layers[3]!.conv.weight; // 3x3 on 208 + 3 x 16 = 256 channels
    const bound = Math.sqrt(6 / (9 * 256));
    const [lo, hi, mean] = tf.tidy(() =>
      [tf.min(weight), tf.max(weight), tf.mean(weight)].map((t) => t.dataSync()[0]!),
    );
    expect(lo!).toBeGreaterThanOrEqual(-bound);
    expect(hi!).toBeLessThanOrEqual(bound);
    expect(hi!).toBeGreaterThan(0.95 * bound);
    expect(Math.abs(mean!)).toBeLessThan(0.05 * bound);
    // Transposed conv: Lasagne's fan-in of a [in, out, 3, 3] weight is out * 9.
    const deconv = model.tu[0]!.deconv.weight;
    const deconvBound = Math.sqrt(6 / (9 * 80));
    expect(tf.tidy(() => tf.max(tf.abs(deconv)).dataSync()[0]!)).toBeLessThanOrEqual(deconvBound);
    expect(tf.tidy(() => tf.max(tf.abs(model.classifier.bias!)).dataSync()[0]!)).toBe(0);
    model.dispose();
  });

  it('registers fc-densenet56/67/103 with the paper defaults and the CamVid presets', () => {
    for (const [variant, growth] of [
      ['56', 12],
      ['67', 16],
      ['103', 16],
    ] as const) {
      const config = getModelDefinition(`fc-densenet${variant}`).configSchema.parse({});
      expect(config).toMatchObject({
        numClasses: 11,
        growthRate: growth,
        firstConvChannels: 48,
        dropout: 0.2,
      });
      const preset = getTrainPreset(`fc-densenet${variant}-camvid`);
      expect(preset.model).toBe(`fc-densenet${variant}`);
      expect(preset.optimizer).toMatchObject({ type: 'rmsprop', weightDecay: 2e-4 });
      expect(preset.schedule.baseLr).toBe(1e-3);
      expect(preset.schedule.policy).toBe('exp');
      // 0.995 per epoch of 123 steps.
      expect(preset.schedule.gamma! ** 123).toBeCloseTo(0.995, 12);
      expect(preset).toMatchObject({ batchSize: 3, crop: [224, 224], steps: 750 * 123 });
    }
    expect(getModelDefinition('fc-densenet103').configSchema.parse({}).layersPerBlock).toEqual([
      4, 5, 7, 10, 12, 15, 12, 10, 7, 5, 4,
    ]);
    expect(() => createModel('fc-densenet56', { layersPerBlock: [4, 4] }, { rng: new Rng(0) })).toThrow(
      /layersPerBlock needs an odd length/,
    );
  });
});
