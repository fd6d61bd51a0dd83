import { ConfusionMatrix } from '@semseg/metrics';
import type { SegmentationDataset } from '@semseg/voc-data/node';
import type { CrfOption, InferenceOptions } from '../../types.js';
import type { ReplicaPool } from './pool.js';

export interface ReplicaEvaluation {
  matrix: ConfusionMatrix;
  crfMatrix: ConfusionMatrix | null;
  /** Summed milliseconds over the images, by stage. */
  network: number;
  crf: number;
}

/**
 * Scores every image of a dataset on the pool's threads: each thread predicts (and refines with
 * the CRF, one CRF per thread) the next image not yet taken; the main thread reads the images and
 * adds the labels to the confusion matrices. Matrices are integer counts, so the result is the
 * single-thread one exactly, whatever order the images finish in.
 */
export async function evaluateOnReplicas(
  pool: ReplicaPool,
  dataset: SegmentationDataset,
  options: InferenceOptions & { crf?: CrfOption | null; ignoreIndex?: number },
  onImage?: (done: number, total: number, id: string) => void,
): Promise<ReplicaEvaluation> {
  const numClasses = pool.model.numClasses;
  const ignoreIndex = options.ignoreIndex ?? 255;
  const matrix = new ConfusionMatrix(numClasses, { ignoreIndex });
  const crf = options.crf ?? null;
  const crfMatrix = crf ? new ConfusionMatrix(numClasses, { ignoreIndex }) : null;
  const { crf: _crf, ignoreIndex: _ignore, ...inference } = options;
  pool.publishWeights();
  const total = dataset.ids.length;
  let next = 0;
  let done = 0;
  const result: ReplicaEvaluation = { matrix, crfMatrix, network: 0, crf: 0 };
  // Two images in flight per thread: each runner reads the next image and queues it on the least
  // busy thread, so a thread that finishes finds its next image already read (with one runner per
  // thread it idled while the main thread read and decoded it).
  const runner = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const sample = await dataset.read(i);
      const image = { width: sample.width, height: sample.height, data: sample.image };
      const reply = await pool.predict(image, inference, crf);
      matrix.update(reply.labels, sample.label);
      if (crfMatrix && reply.crfLabels) crfMatrix.update(reply.crfLabels, sample.label);
      result.network += reply.timings.network + reply.timings.preprocess;
      result.crf += reply.timings.crf ?? 0;
      onImage?.(++done, total, sample.id);
    }
  };
  await Promise.all(Array.from({ length: 2 * pool.threads }, runner));
  return result;
}
