// The exporter's test cases: every registered architecture, width-reduced, at odd input sizes.
import type { ExportOnnxOptions } from '../src/index.js';

export interface Case {
  id: string;
  model: string;
  config: Record<string, unknown>;
  size: [number, number];
  options?: Partial<ExportOnnxOptions>;
  /**
   * The larger served size the dynamic-size check runs at (default +S rows and columns). LR-ASPP's
   * random net is chaotic at 73x67: tfjs itself moves by 8.7e-4 when the input is scaled by
   * 1 + 2^-22 there (and a graph exported at that fixed size differs by 3.7e-4), so it runs wider only.
   */
  largerAt?: [number, number];
}

export const W = { width: 1 / 8, numClasses: 5 };
/** FCN's reference alignment pads conv1 by 100: the narrowest widths keep those cases fast. */
export const FCN = { width: 1 / 32, numClasses: 5 };
export const CASES: Case[] = [
  { id: 'fcn32s', model: 'fcn32s', config: FCN, size: [37, 41] },
  { id: 'fcn16s', model: 'fcn16s', config: FCN, size: [35, 29] },
  { id: 'fcn8s', model: 'fcn8s', config: FCN, size: [33, 45] },
  { id: 'fcn8s-compact', model: 'fcn8s', config: { ...W, alignment: 'compact' }, size: [47, 39] },
  {
    id: 'fcn8s-learnable-bn',
    model: 'fcn8s',
    config: { ...FCN, learnableUpsampling: true, batchNorm: true },
    size: [31, 37],
  },
  { id: 'fcn-resnet50', model: 'fcn-resnet50', config: W, size: [37, 43] },
  { id: 'fcn-resnet101', model: 'fcn-resnet101', config: { ...W, width: 1 / 16 }, size: [33, 35] },
  {
    id: 'deconvnet',
    model: 'deconvnet',
    config: { ...W, width: 1 / 16, fc6Padding: 'same' },
    size: [37, 41],
    // At 69x73 the random net is chaotic: tfjs moves by 2.0e-4 when the input is scaled by
    // 1 + 2^-22, and the dynamic graph there is bit for bit the graph exported at 69x73. At 37x73
    // it moves by 1.2e-4, and onnxruntime on an AMD EPYC (AVX2) differs by as much: the suite
    // then checks against that movement.
    largerAt: [37, 73],
  },
  { id: 'segnet', model: 'segnet', config: W, size: [37, 43] },
  { id: 'segnet-basic', model: 'segnet', config: { ...W, variant: 'basic' }, size: [35, 41] },
  { id: 'deeplab-v1', model: 'deeplab-v1', config: W, size: [41, 39] },
  { id: 'deeplab-v1-resize', model: 'deeplab-v1', config: { ...W, sizeRule: 'resize' }, size: [38, 43] },
  { id: 'deeplab-v2-msc', model: 'deeplab-v2', config: { ...W, scales: [1, 0.75, 0.5] }, size: [41, 45] },
  {
    id: 'deeplab-v2-resnet101',
    model: 'deeplab-v2',
    config: { ...W, width: 1 / 16, backbone: 'resnet101' },
    size: [33, 37],
  },
  { id: 'dilatednet', model: 'dilatednet', config: { ...W, alignment: 'same' }, size: [37, 41] },
  // Before dilatednet-reference, so that it falls in the even half of the export tests
  // (export-suite.ts) and the halves take about as long.
  {
    id: 'dilated-context',
    model: 'dilated-context',
    config: { model: 'deeplab-v1', modelConfig: W, context: 'basic' },
    size: [35, 37],
  },
  {
    id: 'dilatednet-reference',
    model: 'dilatednet',
    // 1/32: its reflected input makes the convs large; at 1/16 it was the slowest case (13 s vs 4 s).
    config: { ...W, width: 1 / 32, context: 'basic' },
    size: [21, 19],
  },
  { id: 'deeplabv3-resnet50', model: 'deeplabv3-resnet50', config: W, size: [37, 41] },
  {
    id: 'deeplabv3-resnet101',
    model: 'deeplabv3-resnet101',
    config: { ...W, width: 1 / 16 },
    size: [33, 31],
  },
  {
    id: 'deeplabv3plus-resnet50',
    model: 'deeplabv3plus-resnet50',
    // 1/16 as its ResNet-101 twin (8.6 s at 1/8, 5.2 s at 1/16).
    config: { ...W, width: 1 / 16 },
    size: [39, 37],
  },
  {
    id: 'deeplabv3plus-resnet101',
    model: 'deeplabv3plus-resnet101',
    config: { ...W, width: 1 / 16 },
    size: [35, 33],
  },
  {
    id: 'deeplabv3-mobilenetv3',
    model: 'deeplabv3-mobilenetv3-large',
    config: { ...W, width: 0.25 },
    size: [37, 43],
  },
  {
    id: 'lraspp-mobilenetv3',
    model: 'lraspp-mobilenetv3-large',
    config: { ...W, width: 0.25 },
    size: [41, 35],
    largerAt: [41, 67],
  },
  { id: 'pspnet-resnet50', model: 'pspnet-resnet50', config: W, size: [37, 41] },
  { id: 'pspnet-resnet101', model: 'pspnet-resnet101', config: { ...W, width: 1 / 16 }, size: [33, 39] },
  { id: 'unet-valid', model: 'unet', config: { ...W, depth: 2, baseChannels: 8 }, size: [61, 57] },
  { id: 'unet-same-bn', model: 'unet', config: { ...W, padding: 'same', batchNorm: true }, size: [37, 41] },
  ...['56', '67', '103'].map((v) => ({
    id: `fc-densenet${v}`,
    model: `fc-densenet${v}`,
    config: { numClasses: 5, growthRate: 3, firstConvChannels: 6 },
    size: [37, 41] as [number, number],
  })),
];

/** The cases whose graph has a dynamic height and width (the others are fixed, with the reason). */
export const DYNAMIC_SIZE = [
  'fcn32s',
  'fcn16s',
  'fcn8s',
  'fcn8s-compact',
  'fcn8s-learnable-bn',
  'fcn-resnet50',
  'fcn-resnet101',
  'deconvnet',
  'segnet',
  'segnet-basic',
  'deeplab-v1',
  'deeplab-v1-resize',
  'deeplab-v2-msc',
  'deeplab-v2-resnet101',
  'dilatednet',
  'dilated-context',
  'deeplabv3-resnet50',
  'deeplabv3-resnet101',
  'deeplabv3plus-resnet50',
  'deeplabv3plus-resnet101',
  'deeplabv3-mobilenetv3',
  'lraspp-mobilenetv3',
  'unet-valid',
  'unet-same-bn',
  'fc-densenet56',
  'fc-densenet67',
  'fc-densenet103',
];
