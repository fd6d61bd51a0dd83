// A small seeded synthetic scene for tests: rectangles and discs of random colours and labels over a
// background, with noisy unaries (-log softmax of label scores plus Gaussian noise).
export interface Scene {
  width: number;
  height: number;
  labels: number;
  rgb: Uint8Array;
  unary: Float32Array;
  truth: Uint8Array;
  unaryArgmax: Uint8Array;
}

/** mulberry32: a tiny seeded generator, enough for test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticScene(width: number, height: number, labels: number, seed: number): Scene {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const n = width * height;
  const truth = new Uint8Array(n);
  const colours = Array.from({ length: labels }, () => [random() * 255, random() * 255, random() * 255]);
  for (let s = 0; s < 6; s++) {
    const label = 1 + Math.floor(random() * (labels - 1));
    const cx = random() * width;
    const cy = random() * height;
    const r = (0.1 + random() * 0.2) * Math.min(width, height);
    const disc = random() < 0.5;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inside = disc
          ? (x - cx) ** 2 + (y - cy) ** 2 < r * r
          : Math.abs(x - cx) < r && Math.abs(y - cy) < r * 0.7;
        if (inside) truth[y * width + x] = label;
      }
    }
  }
  const rgb = new Uint8Array(n * 3);
  const unary = new Float32Array(n * labels);
  const unaryArgmax = new Uint8Array(n);
  const scores = new Float64Array(labels);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++)
      rgb[i * 3 + c] = Math.max(0, Math.min(255, Math.round(colours[truth[i]][c] + 12 * gauss())));
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < labels; k++) {
      scores[k] = (k === truth[i] ? 1.5 : 0) + 1.2 * gauss();
      max = Math.max(max, scores[k]);
    }
    let sum = 0;
    for (let k = 0; k < labels; k++) sum += Math.exp(scores[k] - max);
    let best = 0;
    for (let k = 0; k < labels; k++) {
      unary[i * labels + k] = -(scores[k] - max - Math.log(sum));
      if (scores[k] > scores[best]) best = k;
    }
    unaryArgmax[i] = best;
  }
  return { width, height, labels, rgb, unary, truth, unaryArgmax };
}
