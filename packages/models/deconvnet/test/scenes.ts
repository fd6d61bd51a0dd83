import { Rng } from '@semseg/core';

/**
 * Small synthetic scenes, 3 classes: 0 a noisy dark background, 1 a reddish rectangle, 2 a
 * greenish disc, at seeded positions; images roughly zero-mean, NHWC, labels row-major.
 */
export function syntheticScenes(
  count: number,
  size: number,
  seed: number,
): { images: Float32Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Float32Array(count * size * size * 3);
  const labels = new Uint8Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const rx = rng.int(size / 2);
    const ry = rng.int(size / 2);
    const rw = size / 4 + rng.int(size / 4);
    const rh = size / 4 + rng.int(size / 4);
    const cx = size / 4 + rng.int(size / 2);
    const cy = size / 4 + rng.int(size / 2);
    const radius = size / 8 + rng.int(size / 8);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = n * size * size + y * size + x;
        let label = 0;
        if (x >= rx && x < rx + rw && y >= ry && y < ry + rh) label = 1;
        if ((x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2) label = 2;
        labels[p] = label;
        const [r, g, b] =
          label === 1 ? [0.8, -0.3, -0.3] : label === 2 ? [-0.3, 0.8, -0.2] : [-0.5, -0.5, -0.4];
        images[p * 3] = r + rng.uniform(-0.2, 0.2);
        images[p * 3 + 1] = g + rng.uniform(-0.2, 0.2);
        images[p * 3 + 2] = b + rng.uniform(-0.2, 0.2);
      }
    }
  }
  return { images, labels };
}
