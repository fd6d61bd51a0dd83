import { DatasetError } from '../errors.js';
import { componentInstances, instancesFromObjectMap } from '../instances.js';
import type { Sample } from '../types.js';
import { readImageFile, readLabelFile } from './decode.js';
import { isFile } from './paths.js';

/** Everything needed to read one sample: plain data, so it can be posted to a worker thread. */
export interface SampleSource {
  id: string;
  imagePath: string;
  labelPath: string;
  numClasses: number;
  allowGrayLabels: boolean;
  /** The split file that listed the id, for error messages. */
  listFile: string;
  /**
   * Also read instances: this id's instance map (VOC's SegmentationObject PNG) where the file
   * exists, else the label's connected components (`componentInstances`).
   */
  instancePath?: string;
}

/** A decoded sample: bytes straight from the files. */
export interface LoadedSample extends Sample {
  id: string;
  image: Uint8Array;
}

/** Reads and checks one image/label pair; every failure names the file at fault. */
export async function loadSample(source: SampleSource): Promise<LoadedSample> {
  const context = ` (id ${JSON.stringify(source.id)} listed in ${source.listFile})`;
  const [imageRead, labelRead] = await Promise.allSettled([
    readImageFile(source.imagePath, context),
    readLabelFile(
      source.labelPath,
      { allowGray: source.allowGrayLabels, numClasses: source.numClasses },
      context,
    ),
  ]);
  // Both can fail (an id with neither file): the image's error, whichever read failed first.
  if (imageRead.status === 'rejected') throw imageRead.reason;
  if (labelRead.status === 'rejected') throw labelRead.reason;
  const [image, label] = [imageRead.value, labelRead.value];
  if (image.width !== label.width || image.height !== label.height) {
    throw new DatasetError(
      source.labelPath,
      `label is ${label.width}x${label.height} (WxH) but its image ${source.imagePath} is ${image.width}x${image.height}`,
    );
  }
  const sample: LoadedSample = {
    id: source.id,
    width: image.width,
    height: image.height,
    image: image.data,
    label: label.indices,
  };
  if (source.instancePath !== undefined) sample.instances = await readInstances(source, sample, context);
  return sample;
}

async function readInstances(
  source: SampleSource,
  sample: LoadedSample,
  context: string,
): Promise<Uint16Array> {
  const path = source.instancePath!;
  if (!(await isFile(path))) return componentInstances(sample.label, sample.width, sample.height);
  const objects = await readLabelFile(path, {}, context);
  if (objects.width !== sample.width || objects.height !== sample.height) {
    throw new DatasetError(
      path,
      `instance map is ${objects.width}x${objects.height} (WxH) but its label ${source.labelPath} is ${sample.width}x${sample.height}`,
    );
  }
  return instancesFromObjectMap(objects.indices);
}
