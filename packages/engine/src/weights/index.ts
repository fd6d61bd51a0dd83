export { type ExportWeightsOptions, exportTensors, exportWeights } from './export.js';
export {
  type ImportReport,
  type ImportWeightsOptions,
  candidateMaps,
  importWeights,
  parameterShapes,
  readWeightsInput,
} from './import.js';
export { numClassesInFile } from './classes.js';
