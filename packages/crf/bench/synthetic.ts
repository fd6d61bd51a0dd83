// Seeded synthetic inputs for the benchmark: a scene of shaded shapes over a gradient with sensor
// noise, and noisy unaries (-log softmax of scores that favour the true label) for `labels` labels.

function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BenchInput {
  width: number;
  height: number;
  labels: number;
  rgb: Uint8Array;
  unary: Float32Array;
}

export function syntheticInput(width: number, height: number, labels: number, seed = 1): BenchInput {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const n = width * height;
  const truth = new Uint8Array(n);
  const colour = new Float32Array(n * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      colour[i * 3] = 60 + (120 * x) / width;
      colour[i * 3 + 1] = 90 + (80 * y) / height;
      colour[i * 3 + 2] = 140;
    }
  }
  const shapes = 12 + Math.round((n / 187_500) * 4);
  for (let s = 0; s < shapes; s++) {
    const label = 1 + Math.floor(random() * (labels - 1));
    const base = [random() * 255, random() * 255, random() * 255];
    const cx = random() * width;
    const cy = random() * height;
    const rx = (0.05 + random() * 0.2) * width;
    const ry = (0.05 + random() * 0.2) * height;
    const x0 = Math.max(0, Math.floor(cx - rx));
    const x1 = Math.min(width, Math.ceil(cx + rx));
    for (let y = Math.max(0, Math.floor(cy - ry)); y < Math.min(height, Math.ceil(cy + ry)); y++) {
      for (let x = x0; x < x1; x++) {
        const r2 = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
        if (r2 > 1) continue;
        const i = y * width + x;
        truth[i] = label;
        const shade = 1 - 0.35 * r2; // shaded like a lit object
        for (let c = 0; c < 3; c++) colour[i * 3 + c] = base[c] * shade;
      }
    }
  }
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n * 3; i++) rgb[i] = Math.max(0, Math.min(255, Math.round(colour[i] + 6 * gauss())));

  // Unaries: a classifier's blurry, noisy scores, as a CNN's upsampled output looks.
  const unary = new Float32Array(n * labels);
  const scores = new Float64Array(labels);
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < labels; k++) {
      scores[k] = (k === truth[i] ? 2.5 : 0) + 1.3 * gauss();
      if (scores[k] > max) max = scores[k];
    }
    let sum = 0;
    for (let k = 0; k < labels; k++) sum += Math.exp(scores[k] - max);
    const logSum = Math.log(sum);
    for (let k = 0; k < labels; k++) unary[i * labels + k] = -(scores[k] - max - logSum);
  }
  return { width, height, labels, rgb, unary };
}
