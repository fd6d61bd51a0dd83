export { type ExportWeightsOptions, exportTensors, exportWeights } from './export.js';
export {
  type ImportReport,
  type ImportWeightsOptions,
  importWeights,
  parameterShapes,
  readWeightsInput,
} from './import.js';
