// Runs the built package under plain `node` (no vitest, no tsx): the main entry and the ./node
// subpath with its worker threads, on the reference case. Exits non-zero on any mismatch.
import { readFileSync } from 'node:fs';
import { DenseCRF2D, runDenseCrf } from '@semseg/crf';
import { inferenceThreaded } from '@semseg/crf/node';

const dir = new URL('../fixtures/', import.meta.url);
const read = (path) => readFileSync(new URL(path, dir));
const unaryBytes = read('b/unary.f32');
const unary = new Float32Array(
  unaryBytes.buffer.slice(unaryBytes.byteOffset, unaryBytes.byteOffset + unaryBytes.length),
);
const rgb = new Uint8Array(read('b/image.u8'));
const reference = new Uint8Array(read('b_P1/labels.u8'));

const { labels } = runDenseCrf({ width: 80, height: 64, labels: 3, unary, rgb }, 'pydensecrfExample');
const crf = new DenseCRF2D(80, 64, 3);
crf.setUnaryEnergy(unary);
crf.addPairwiseGaussian({ sxy: 3, compat: 3 });
crf.addPairwiseBilateral({ sxy: 80, srgb: 13, rgb, compat: 10 });
const threaded = crf.map(await inferenceThreaded(crf, 5, { threads: 2 }));

let same = 0;
let sameThreaded = 0;
for (let i = 0; i < reference.length; i++) {
  if (labels[i] === reference[i]) same++;
  if (threaded[i] === reference[i]) sameThreaded++;
}
if (same !== reference.length || sameThreaded !== reference.length) {
  console.error(
    `dist-smoke: label agreement ${same}/${reference.length}, threaded ${sameThreaded}/${reference.length}`,
  );
  process.exit(1);
}
console.log('dist-smoke: built package and its worker threads match the reference labels on every pixel');
