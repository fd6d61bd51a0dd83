// Node-only helpers of @semseg/core (file system).
export { checkpointFiles, loadCheckpoint, readCheckpointMeta, saveCheckpoint } from './checkpoint.js';
