/**
 * VOC-like label maps for the bench: background, a few elliptic objects of random classes with
 * a 255 "void" border, and a prediction that misplaces the objects by a few pixels and flips a
 * few percent of pixels at random, so runs, boundaries and errors look like real evaluations.
 */
export interface LabelPair {
  pred: Uint8Array;
  target: Uint8Array;
}

/** mulberry32: a tiny seeded generator, enough for bench data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

export function vocLikePair(width: number, height: number, numClasses: number, seed: number): LabelPair {
  const random = seededRandom(seed);
  const target = new Uint8Array(width * height);
  const pred = new Uint8Array(width * height);
  const objects = 2 + Math.floor(random() * 4);
  for (let o = 0; o < objects; o++) {
    const cls = 1 + Math.floor(random() * (numClasses - 1));
    const cx = random() * width;
    const cy = random() * height;
    const rx = 20 + random() * width * 0.3;
    const ry = 20 + random() * height * 0.3;
    const dx = (random() - 0.5) * 12;
    const dy = (random() - 0.5) * 12;
    const border = 3 / Math.min(rx, ry);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const r = Math.hypot((x - cx) / rx, (y - cy) / ry);
        if (r < 1) target[i] = cls;
        else if (r < 1 + border) target[i] = 255;
        if (Math.hypot((x - cx - dx) / rx, (y - cy - dy) / ry) < 1) pred[i] = cls;
      }
    }
  }
  for (let i = 0; i < pred.length; i++) {
    if (random() < 0.03) pred[i] = Math.floor(random() * numClasses);
  }
  return { pred, target };
}

/** Independent uniform labels with 5% ignore: the worst case for branch prediction. */
export function randomPair(length: number, numClasses: number, seed: number): LabelPair {
  const random = seededRandom(seed);
  const pred = new Uint8Array(length);
  const target = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    pred[i] = Math.floor(random() * numClasses);
    target[i] = random() < 0.05 ? 255 : Math.floor(random() * numClasses);
  }
  return { pred, target };
}
