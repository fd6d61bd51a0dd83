import type { SegmentationModel } from '@semseg/core';

/** The ONNX opset the exporter writes by default (and the oldest it accepts). */
export const ONNX_OPSET = 17;

export interface ExportOnnxOptions {
  /** Height and width of the traced input. */
  height: number;
  width: number;
  /** A fixed batch size, or 'dynamic' (default) for a symbolic batch dimension. */
  batch?: number | 'dynamic';
  /** ONNX default-domain opset, 17 or newer. Default ONNX_OPSET. */
  opset?: number;
  /** Extra metadata_props (the checkpoint's classes, normalisation, ...). */
  metadata?: Record<string, string>;
  /** Keep batch norms as BatchNormalization nodes instead of folding them into the convs. */
  keepBatchNorm?: boolean;
}

/**
 * Traces one forward of `model` on a height x width input and returns the ONNX ModelProto bytes:
 * graph input `images` (N x H x W x 3 float32, normalised as the model expects) and output `logits`
 * (N x H x W x C).
 */
export function exportOnnx(model: SegmentationModel, options: ExportOnnxOptions): Uint8Array {
  void model;
  void options;
  throw new Error('exportOnnx: not implemented yet');
}
