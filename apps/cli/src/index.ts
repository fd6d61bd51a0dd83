// The CLI's parts, for scripts and tests; the command line itself is `semseg` (dist/bin.js).
export { BACKEND_CHOICES, type BackendChoice, backendLoaders, useBackend } from './backends/index.js';
export { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, UsageError, describeFailure } from './errors.js';
export { NpyError, type NpyArray, decodeNpy, encodeNpy } from '@semseg/weights';
export { labelPng } from './io/label-png.js';
export { main } from './main.js';
export { createProgram } from './program.js';
export { type CurvePoint, type TrainingCurves, drawChart, renderChartPng } from './render/chart.js';
export { renderOverlay } from './render/overlay.js';
