// One measured import in a fresh process: prints JSON with the peak RSS of this process.
import { readFileSync } from 'node:fs';
import { type WeightNameMap, mapWeights, readWeights } from '../src/index.js';
import { readWeightsFile } from '../src/node.js';
import { FCN8S_LAYERS } from './fcn8s-caffemodel.js';

const [path, mode] = process.argv.slice(2) as [string, 'file' | 'bytes'];
const baseline = process.memoryUsage().rss;
const started = performance.now();
const targets: Record<string, number[]> = {};
const layouts = new Map<string, 'conv' | 'conv-transpose'>();
for (const [name, type, [o, i, kh, kw], bias] of FCN8S_LAYERS) {
  const deconv = type === 'Deconvolution';
  targets[`${name}.weight`] = deconv ? [kh!, kw!, i!, o!] : [kh!, kw!, i!, o!];
  if (bias) targets[`${name}.bias`] = [o!];
  layouts.set(name, deconv ? 'conv-transpose' : 'conv');
}
const map: WeightNameMap = {
  format: 'caffe',
  description: 'voc-fcn8s',
  source(parameter) {
    const [layer, kind] = parameter.split('.') as [string, string];
    return {
      key: `${layer}/${kind === 'weight' ? 0 : 1}`,
      layout: kind === 'weight' ? layouts.get(layer)! : 'same',
    };
  },
};
const file =
  mode === 'file'
    ? await readWeightsFile(path)
    : await readWeights({ name: path, data: new Uint8Array(readFileSync(path)) });
const mapped = mapWeights(file, map, targets);
const values = Object.values(mapped.values).reduce((n, v) => n + v.data.length, 0);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ mode, values, seconds, baselineMB: baseline / 1e6, peakMB: (process.resourceUsage().maxRSS * 1024) / 1e6 })}\n`,
);
