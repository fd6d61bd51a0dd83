// One synthetic batch for every model package's overfitting tests.

/**
 * A batch of small synthetic scenes, 3 classes: 0 noisy dark background, 1 a reddish rectangle,
 * 2 a greenish disc, at positions drawn from `rng` (`int(n)`, `uniform(lo, hi)`: @semseg/core's
 * Rng). Images are roughly zero-mean NHWC float32, labels row-major.
 */
export function syntheticScenes(count, size, rng) {
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
