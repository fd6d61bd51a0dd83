import '@tensorflow/tfjs-backend-cpu';
import '@semseg/deconvnet';
import '@semseg/deeplab';
import '@semseg/fc-densenet';
import '@semseg/fcn';
import '@semseg/pspnet';
import '@semseg/unet';
import { Rng, type SegmentationModel, createModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { test } from 'vitest';
import { exportOnnx, readMetadataProps } from '../src/index.js';
import { CASES } from './cases.js';

test('explore', async () => {
  await tf.setBackend('cpu');
  for (const c of CASES) {
    if (process.env.ONLY && !c.id.includes(process.env.ONLY)) continue;
    const model = createModel(c.model, c.config, { rng: new Rng(7) }) as SegmentationModel;
    const t0 = Date.now();
    try {
      const bytes = exportOnnx(model, { height: c.size[0], width: c.size[1] });
      const m = readMetadataProps(bytes, 'x');
      console.log(c.id, Date.now() - t0, 'ms', m['semseg.dynamic_size'], m['semseg.batch']);
    } catch (e) {
      console.log(c.id, 'ERROR', (e as Error).message);
    }
    for (const e of model.namedEntries()) e.variable.dispose();
  }
}, 600_000);
