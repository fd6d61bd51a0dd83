// Messages between the page and the weights-import worker.
import type { DeviceBudget } from '../device-budget.js';
import type { ImportStage, ImportSummary } from './convert.js';
import type { ArchitectureFit } from './match.js';

export type ImportRequest =
  | { type: 'convert'; id: number; file: Blob; name: string; budget: DeviceBudget }
  | { type: 'choice'; id: number; architecture: string | null };

export type ImportReply =
  | { type: 'progress'; id: number; stage: ImportStage; bytesRead: number; size: number }
  | { type: 'choose'; id: number; fits: ArchitectureFit[] }
  | { type: 'done'; id: number; modelJsonText: string; weights: Uint8Array; summary: ImportSummary }
  | { type: 'error'; id: number; message: string; cancelled: boolean };
