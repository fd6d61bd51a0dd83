// @semseg/voc-data/node: file-system readers, sharp decoding, the synthetic generator, validation
// and the prefetching batch pipeline (worker_threads). The browser-safe API is the main entry.
export {
  type DatasetLayout,
  type OpenDatasetOptions,
  SBD_LAYOUT,
  type SegmentationDataset,
  VOC_LAYOUT,
  openSbdDataset,
  openSegmentationDataset,
  openVocDataset,
  parseSplitList,
  readClassesOption,
  readLabelmap,
} from './dataset.js';
export { type DecodedImage, decodeImageBytes, readImageFile, readLabelFile } from './decode.js';
export { type LoadedSample, type SampleSource, loadSample } from './load-sample.js';
export {
  type ObjectIndex,
  ObjectCentredPipeline,
  type ObjectPipelineOptions,
  createObjectCentredPipeline,
  indexObjects,
} from './object-crops.js';
export { resolveDatasetRoot } from './paths.js';
export { type Batch, BatchPipeline, type PipelineOptions, createBatchPipeline } from './pipeline.js';
export { type ProcessedSample, type SampleJob, processSample } from './process-sample.js';
export {
  type SyntheticSample,
  type SyntheticVoc,
  type SyntheticVocOptions,
  generateSyntheticVoc,
} from './synthetic.js';
export { type DatasetProblem, type ValidateOptions, type ValidationReport, validate } from './validate.js';
