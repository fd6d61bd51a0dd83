import { Rng } from '@semseg/core';

/**
 * A batch of small synthetic scenes, 3 classes: 0 noisy dark background, 1 a reddish rectangle,
 * 2 a greenish disc, at seeded positions. Images are roughly zero-mean, labels row-major.
 */
// (Copied from @semseg/fcn's tests; sizes need not be multiples of 8.)
export function syntheticBatch(
  count: number,
  size: number,
  seed: number,
): { images: Float32Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Float32Array(count * size * size * 3);
  const labels = new Uint8Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const q = (f: number) => Math.floor(size * f);
    const rx = rng.int(q(1 / 2));
    const ry = rng.int(q(1 / 2));
    const rw = q(1 / 4) + rng.int(q(1 / 4));
    const rh = q(1 / 4) + rng.int(q(1 / 4));
    const cx = q(1 / 4) + rng.int(q(1 / 2));
    const cy = q(1 / 4) + rng.int(q(1 / 2));
    const radius = q(1 / 8) + rng.int(q(1 / 8));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = n * size * size + y * size + x;
        let label = 0;
        if (x >= rx && x < rx + rw && y >= ry && y < ry + rh) label = 1;
        if ((x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2) label = 2;
        labels[p] = label;
        const noise = () => rng.uniform(-0.2, 0.2);
        const [r, g, b] =
          label === 1 ? [0.8, -0.3, -0.3] : label === 2 ? [-0.3, 0.8, -0.2] : [-0.5, -0.5, -0.4];
        images[p * 3] = r + noise();
        images[p * 3 + 1] = g + noise();
        images[p * 3 + 2] = b + noise();
      }
    }
  }
  return { images, labels };
}
