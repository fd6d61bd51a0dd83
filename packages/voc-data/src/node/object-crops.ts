import { join } from 'node:path';
import { meanPixel, normalizeImage } from '../normalize.js';
import {
  ObjectCentredSampler,
  type ObjectCropOptions,
  type ObjectInstance,
  type ObjectRef,
  findObjects,
  objectCentredCrop,
} from '../object-crops.js';
import type { DataPosition, Normalization } from '../types.js';
import type { SegmentationDataset } from './dataset.js';
import { readLabelFile } from './decode.js';
import { loadSample } from './load-sample.js';
import { fileForId, isFile } from './paths.js';
import type { Batch } from './pipeline.js';

/** Every object of a dataset split, and where the objects came from. */
export interface ObjectIndex {
  /** Per id (in `dataset.ids` order), its objects. */
  perImage: ObjectInstance[][];
  /** All objects, image by image. */
  objects: ObjectRef[];
  /** Images whose instances came from SegmentationObject; the rest from connected components. */
  withInstanceMaps: number;
}

/**
 * Finds the objects of every image: from `<root>/<objectDir>/<id>.png` (VOC's SegmentationObject,
 * instance ids) where that file exists, else from the class map's connected components (SBD,
 * synthetic data). Reads every label once.
 */
export async function indexObjects(
  dataset: SegmentationDataset,
  options: { objectDir?: string; minArea?: number } = {},
): Promise<ObjectIndex> {
  const objectDir = join(dataset.root, options.objectDir ?? 'SegmentationObject');
  const perImage: ObjectInstance[][] = [];
  const objects: ObjectRef[] = [];
  let withInstanceMaps = 0;
  for (let image = 0; image < dataset.ids.length; image++) {
    const id = dataset.ids[image]!;
    const source = dataset.source(id);
    const classMap = await readLabelFile(source.labelPath, {
      allowGray: source.allowGrayLabels,
      numClasses: source.numClasses,
    });
    const objectPath = fileForId(objectDir, id, dataset.layout.labelExtension, source.listFile);
    let objectLabel: Uint8Array | null = null;
    if (await isFile(objectPath)) {
      const instances = await readLabelFile(objectPath, {});
      if (instances.width !== classMap.width || instances.height !== classMap.height) {
        throw new RangeError(
          `${objectPath}: instance map is ${instances.width}x${instances.height}, its class map ${classMap.width}x${classMap.height}`,
        );
      }
      objectLabel = instances.indices;
      withInstanceMaps++;
    }
    const found = findObjects(classMap.indices, classMap.width, classMap.height, {
      objectLabel,
      ...(options.minArea === undefined ? {} : { minArea: options.minArea }),
    });
    perImage.push(found);
    found.forEach((_, object) => objects.push({ image, object }));
  }
  return { perImage, objects, withInstanceMaps };
}

export interface ObjectPipelineOptions extends Partial<Omit<ObjectCropOptions, 'fill'>> {
  batchSize: number;
  normalization: Normalization;
  seed?: number | string;
  /** Default Infinity. */
  epochs?: number;
  /** Resume here (a `Batch.position` saved earlier). */
  start?: DataPosition;
  /** Objects under this many pixels are skipped (default 1). */
  minArea?: number;
  /** A ready index (`indexObjects`), to skip reading the labels again. */
  index?: ObjectIndex;
  fill?: ObjectCropOptions['fill'];
}

/**
 * Batches of object-centred examples (DeconvNet's first stage) in the shape BatchPipeline hands
 * out: `for await (const batch of pipeline)`; `batch.position` resumes exactly. `ids` name the
 * image of each example.
 */
export class ObjectCentredPipeline implements AsyncIterable<Batch> {
  readonly index: ObjectIndex;
  private readonly sampler: ObjectCentredSampler;
  private readonly dataset: SegmentationDataset;
  private readonly options: ObjectPipelineOptions;
  private readonly crop: ObjectCropOptions;

  constructor(dataset: SegmentationDataset, index: ObjectIndex, options: ObjectPipelineOptions) {
    this.dataset = dataset;
    this.index = index;
    this.options = options;
    this.crop = {
      fill: options.fill ?? meanPixel(options.normalization),
      ...(options.enlarge === undefined ? {} : { enlarge: options.enlarge }),
      ...(options.resize === undefined ? {} : { resize: options.resize }),
      ...(options.crop === undefined ? {} : { crop: options.crop }),
      ...(options.flipProbability === undefined ? {} : { flipProbability: options.flipProbability }),
    };
    this.sampler = new ObjectCentredSampler({
      objects: index.objects,
      batchSize: options.batchSize,
      seed: options.seed ?? 0,
      ...(options.epochs === undefined ? {} : { epochs: options.epochs }),
      ...(options.start ? { start: options.start } : {}),
    });
  }

  get position(): DataPosition {
    return this.sampler.position;
  }

  async next(): Promise<Batch | undefined> {
    const planned = this.sampler.nextBatch();
    if (!planned) return undefined;
    const position = this.sampler.position;
    const samples = await Promise.all(
      planned.map(async (p) => {
        const id = this.dataset.ids[p.image]!;
        const sample = await loadSample(this.dataset.source(id));
        const object = this.index.perImage[p.image]![p.object]!;
        const example = objectCentredCrop(sample, object, this.crop, this.sampler.randomFor(p));
        return { id, sample, example };
      }),
    );
    const { width, height } = samples[0]!.example;
    const pixels = width * height;
    const images = new Float32Array(samples.length * pixels * 3);
    const labels = new Uint8Array(samples.length * pixels);
    samples.forEach(({ example }, k) => {
      images.set(normalizeImage(example.image, this.options.normalization), k * pixels * 3);
      labels.set(example.label, k * pixels);
    });
    return {
      images,
      labels,
      ids: samples.map((s) => s.id),
      batchSize: samples.length,
      height,
      width,
      epoch: planned[0]!.epoch,
      position,
      sizes: samples.map(({ sample }) => ({
        originalWidth: sample.width,
        originalHeight: sample.height,
        validWidth: width,
        validHeight: height,
      })),
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    for (;;) {
      const batch = await this.next();
      if (!batch) return;
      yield batch;
    }
  }

  /** Nothing runs in the background; here for the same shape as BatchPipeline. */
  async close(): Promise<void> {}
}

/** Indexes the objects (unless `options.index` is given) and returns the pipeline over them. */
export async function createObjectCentredPipeline(
  dataset: SegmentationDataset,
  options: ObjectPipelineOptions,
): Promise<ObjectCentredPipeline> {
  const index =
    options.index ??
    (await indexObjects(dataset, options.minArea === undefined ? {} : { minArea: options.minArea }));
  return new ObjectCentredPipeline(dataset, index, options);
}
