// @semseg/voc-data, browser-safe entry: no fs, no sharp, no worker_threads. Node readers, the
// synthetic generator and the batch pipeline are in '@semseg/voc-data/node'.
export { type AugmentDraw, type AugmentOptions, augmentSample, drawAugmentation } from './augment.js';
export {
  MMSEG_PHOTOMETRIC,
  type PhotometricDraw,
  type PhotometricOptions,
  applyPhotometric,
  drawPhotometric,
} from './photometric.js';
export { type RgbImage, decodeImageWithPlatform, rgbaToRgb } from './browser-decode.js';
export { IGNORE_INDEX, VOC_CLASSES } from './classes.js';
export { colorizeLabels, vocColorMap } from './colormap.js';
export { DatasetError } from './errors.js';
export {
  type LabelComponent,
  componentBoxes,
  componentInstances,
  instancesFromObjectMap,
} from './instances.js';
export { type ClassList, LABELMAP_FILE, fullPalette, parseClassNames, parseLabelmap } from './labelmap.js';
export { type EvalSample, type EvalTransformOptions, evalTransform, fitScale } from './eval-transform.js';
export { meanPixel, normalizeImage } from './normalize.js';
export {
  type ObjectBox,
  type ObjectCropOptions,
  type ObjectInstance,
  type ObjectRef,
  ObjectCentredSampler,
  type PlannedObject,
  cutRegion,
  enlargeObjectBox,
  findObjects,
  objectCentredCrop,
} from './object-crops.js';
export {
  type ClassShare,
  LEGEND_GEOMETRY,
  type LegendText,
  type OverlayLayout,
  type OverlayPicture,
  type RgbPixels,
  blendLabels,
  classShares,
  formatShare,
  legendEntries,
  overlayLayout,
  overlayPicture,
} from './overlay.js';
export { completePalette } from './palette.js';
export {
  type DecodeLabelOptions,
  type LabelPng,
  checkLabelValues,
  decodeLabelPng,
  encodeLabelPng,
} from './png-label.js';
export {
  type RandomSource,
  SeededRandom,
  type SeededRandomState,
  mixWords,
  randomInt,
  seedWord,
  uniform,
} from './random.js';
export { Raster } from './raster.js';
export { resizeImageBilinear, resizeLabelNearest } from './resize.js';
export { EpochPlan, type PlannedSample, epochOrder, shardItems } from './sampler.js';
export {
  type PadFill,
  type Size,
  cropSample,
  horizontalFlip,
  padSample,
  randomCrop,
  randomHorizontalFlip,
  randomScale,
  resizeSample,
  scaledSize,
} from './transforms.js';
export type { DataPosition, Normalization, Rgb, Sample, ShardSpec } from './types.js';
