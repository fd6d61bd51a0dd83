// The object-centred sampler of DeconvNet's first training stage (Noh et al. 2015): one training
// example per object instance, its box enlarged, resized to 250 x 250, randomly cropped to
// 224 x 224 and flipped. Seeded per (seed, epoch, index) and resumable, as EpochPlan.
import { IGNORE_INDEX } from './classes.js';
import { componentBoxes } from './instances.js';
import { SeededRandom } from './random.js';
import { EpochPlan } from './sampler.js';
import { type PadFill, type Size, randomCrop, randomHorizontalFlip, resizeSample } from './transforms.js';
import type { DataPosition, Sample } from './types.js';

/** A box in pixels: columns x0..x1-1, rows y0..y1-1. */
export interface ObjectBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One object of an image: its class, box and pixel count. */
export interface ObjectInstance {
  classIndex: number;
  box: ObjectBox;
  area: number;
}

function boxGrow(box: ObjectBox, x: number, y: number): void {
  box.x0 = Math.min(box.x0, x);
  box.y0 = Math.min(box.y0, y);
  box.x1 = Math.max(box.x1, x + 1);
  box.y1 = Math.max(box.y1, y + 1);
}

/**
 * The objects of one image. With VOC's SegmentationObject map (instance ids 1..N, 0 background,
 * 255 void) each id is an object whose class is the most frequent class under it; without one,
 * each 8-connected component of a class other than `background` in the class map is an object.
 * Objects under `minArea` pixels are dropped. In order of instance id (or of first pixel).
 */
export function findObjects(
  classLabel: Uint8Array,
  width: number,
  height: number,
  options: { objectLabel?: Uint8Array | null; minArea?: number; background?: number } = {},
): ObjectInstance[] {
  const minArea = options.minArea ?? 1;
  const background = options.background ?? 0;
  if (classLabel.length !== width * height) {
    throw new RangeError(`class label holds ${classLabel.length} pixels, ${width}x${height} expected`);
  }
  const objects = options.objectLabel
    ? objectsFromInstances(classLabel, options.objectLabel, width, height)
    : componentBoxes(classLabel, width, height, background);
  return objects.filter((o) => o.area >= minArea);
}

function objectsFromInstances(
  classLabel: Uint8Array,
  objectLabel: Uint8Array,
  width: number,
  height: number,
): ObjectInstance[] {
  if (objectLabel.length !== classLabel.length) {
    throw new RangeError(
      `object label holds ${objectLabel.length} pixels, the class label ${classLabel.length}`,
    );
  }
  const found = new Map<number, { box: ObjectBox; area: number; votes: Uint32Array }>();
  for (let p = 0; p < objectLabel.length; p++) {
    const id = objectLabel[p]!;
    if (id === 0 || id === IGNORE_INDEX) continue;
    let entry = found.get(id);
    if (!entry) {
      entry = { box: { x0: width, y0: height, x1: 0, y1: 0 }, area: 0, votes: new Uint32Array(256) };
      found.set(id, entry);
    }
    entry.area++;
    entry.votes[classLabel[p]!]!++;
    boxGrow(entry.box, p % width, Math.floor(p / width));
  }
  return [...found.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, e]) => {
      let classIndex = 0;
      for (let k = 1; k < 255; k++) if (e.votes[k]! > e.votes[classIndex]!) classIndex = k;
      return { classIndex, box: e.box, area: e.area };
    });
}

/** How an object becomes a training example. Defaults: the paper's (1.2x box, 250, 224, flip 0.5). */
export interface ObjectCropOptions {
  /** The box grows about its centre by this factor in width and height (default 1.2). */
  enlarge?: number;
  /** The enlarged box is resized to this (default 250 x 250). */
  resize?: Size;
  /** Then a random window of this size is cut (default 224 x 224). */
  crop?: Size;
  flipProbability?: number;
  /** Image fill outside the picture (pixel units, usually the mean pixel); labels there are 255. */
  fill: PadFill;
}

/** The box grown about its centre by `factor` (integer pixels; may leave the image). */
export function enlargeObjectBox(box: ObjectBox, factor: number): ObjectBox {
  const cx = (box.x0 + box.x1) / 2;
  const cy = (box.y0 + box.y1) / 2;
  const w = Math.max(1, Math.round((box.x1 - box.x0) * factor));
  const h = Math.max(1, Math.round((box.y1 - box.y0) * factor));
  const x0 = Math.round(cx - w / 2);
  const y0 = Math.round(cy - h / 2);
  return { x0, y0, x1: x0 + w, y1: y0 + h };
}

/** The pixels of `box` (which may leave the sample: image `fill`, label 255 there). */
export function cutRegion(sample: Sample, box: ObjectBox, fill: PadFill): Sample {
  const width = box.x1 - box.x0;
  const height = box.y1 - box.y0;
  if (!(width > 0 && height > 0)) throw new RangeError(`cutRegion: empty box ${JSON.stringify(box)}`);
  const image = new Float32Array(width * height * 3);
  const label = new Uint8Array(width * height).fill(IGNORE_INDEX);
  for (let y = 0; y < height; y++) {
    const sy = box.y0 + y;
    for (let x = 0; x < width; x++) {
      const sx = box.x0 + x;
      const o = y * width + x;
      if (sy < 0 || sx < 0 || sy >= sample.height || sx >= sample.width) {
        image.set(fill, o * 3);
        continue;
      }
      const s = sy * sample.width + sx;
      image[o * 3] = sample.image[s * 3]!;
      image[o * 3 + 1] = sample.image[s * 3 + 1]!;
      image[o * 3 + 2] = sample.image[s * 3 + 2]!;
      label[o] = sample.label[s]!;
    }
  }
  return { width, height, image, label };
}

/**
 * One object-centred example: the object's box enlarged, cut (padded where it leaves the
 * image), resized to `resize`, cropped at random to `crop`, flipped at random. Draws from `random`
 * in that order (crop top, left, flip).
 */
export function objectCentredCrop(
  sample: Sample,
  object: ObjectInstance,
  options: ObjectCropOptions,
  random: { next(): number },
): Sample {
  const resize = options.resize ?? { width: 250, height: 250 };
  const crop = options.crop ?? { width: 224, height: 224 };
  const region = cutRegion(sample, enlargeObjectBox(object.box, options.enlarge ?? 1.2), options.fill);
  const resized = resizeSample(region, resize);
  const cropped = randomCrop(resized, crop, random, options.fill);
  return randomHorizontalFlip(cropped, random, options.flipProbability ?? 0.5);
}

/** Which object of which image: `image` indexes the dataset's ids, `object` that image's objects. */
export interface ObjectRef {
  image: number;
  object: number;
}

/** One planned example: the object, and the (epoch, index) that fix its random crop and flip. */
export interface PlannedObject extends ObjectRef {
  epoch: number;
  index: number;
}

/**
 * Walks the objects of a dataset in seeded shuffled epochs, in batches, and knows where it stands:
 * save `position` in a checkpoint and pass it back as `start` to get the same batches again. Each
 * example's crop and flip come from `randomFor(planned)`, independent of workers and timing.
 */
export class ObjectCentredSampler {
  readonly objects: readonly ObjectRef[];
  private readonly plan: EpochPlan;
  private readonly seed: number | string;

  constructor(options: {
    objects: readonly ObjectRef[];
    batchSize: number;
    seed: number | string;
    /** Default Infinity. */
    epochs?: number;
    start?: DataPosition;
  }) {
    if (options.objects.length === 0) throw new RangeError('the object-centred sampler found no objects');
    this.objects = options.objects;
    this.seed = options.seed;
    this.plan = new EpochPlan({
      length: options.objects.length,
      batchSize: options.batchSize,
      seed: `${options.seed}:objects`,
      shuffle: true,
      dropLast: true,
      epochs: options.epochs ?? Number.POSITIVE_INFINITY,
      ...(options.start ? { start: options.start } : {}),
    });
  }

  /** Where the next batch starts. */
  get position(): DataPosition {
    return this.plan.position;
  }

  nextBatch(): PlannedObject[] | undefined {
    return this.plan.nextBatch()?.map((p) => ({ ...this.objects[p.item]!, epoch: p.epoch, index: p.index }));
  }

  /** The generator of one example's crop and flip. */
  randomFor(planned: PlannedObject): SeededRandom {
    return SeededRandom.forSample(this.seed, planned.epoch, planned.index);
  }
}
