// The number of classes a foreign file was trained for, read from the shapes of the tensors that
// the name maps put in our class-sized parameters (score layers, classifier, upsampling).
import type { SegmentationModel, WeightNameMap } from '@semseg/core';
import { type WeightFile, foreignShape } from '@semseg/weights';

function squeeze(shape: readonly number[]): number[] {
  let i = 0;
  while (i < shape.length - 1 && shape[i] === 1) i++;
  return shape.slice(i);
}

/**
 * The class count the file's tensors agree on, for a model built with `model.numClasses`: where
 * our shape and the file's differ only in the class-sized axes, the file's size there. Null when
 * no tensor tells (then the model's own count stands).
 */
export function numClassesInFile(
  model: SegmentationModel,
  maps: readonly WeightNameMap[],
  file: WeightFile,
): number | null {
  const n = model.numClasses;
  const votes = new Map<number, number>();
  for (const map of maps) {
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (!t.shape.includes(n)) continue;
      const source = map.source(name);
      const tensor = source ? file.tensors.get(source.key) : undefined;
      if (!source || !tensor) continue;
      const want = squeeze(foreignShape(t.shape, source.layout));
      const got = squeeze(tensor.shape);
      if (want.length !== got.length) continue;
      let k: number | null = null;
      let fits = true;
      want.forEach((d, i) => {
        if (d === got[i]) return;
        if (d !== n || (k !== null && k !== got[i])) fits = false;
        k = got[i]!;
      });
      if (fits) votes.set(k ?? n, (votes.get(k ?? n) ?? 0) + 1);
    }
    if (votes.size > 0) break;
  }
  if (votes.size === 0) return null;
  return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}
