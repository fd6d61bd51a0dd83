import { DatasetError } from '../errors.js';
import type { Sample } from '../types.js';
import { readImageFile, readLabelFile } from './decode.js';

/** Everything needed to read one sample: plain data, so it can be posted to a worker thread. */
export interface SampleSource {
  id: string;
  imagePath: string;
  labelPath: string;
  numClasses: number;
  allowGrayLabels: boolean;
  /** The split file that listed the id, for error messages. */
  listFile: string;
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
  return { id: source.id, width: image.width, height: image.height, image: image.data, label: label.indices };
}
