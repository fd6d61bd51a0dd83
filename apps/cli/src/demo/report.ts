import type { SegmentationMetrics } from '@semseg/metrics';
import { formatClassTable, formatSummaryTable } from '@semseg/metrics';
import type { CurvePoint } from '../render/chart.js';

export interface DemoFigures {
  backend: string;
  steps: number;
  trainImages: number;
  valImages: number;
  minutes: number;
  trainMinutes: number;
  width: number;
  batchSize: number;
  crop: number;
  crfPreset: string;
  metrics: SegmentationMetrics;
  crfMetrics: SegmentationMetrics;
  chanceMiou: number;
  classes: readonly string[];
  overlays: readonly string[];
}

const pct = (x: number) => (Number.isFinite(x) ? (x * 100).toFixed(2) : 'n/a');

/** The curves from a run's train.jsonl records. */
export function curvesFromLog(records: ReadonlyArray<Record<string, unknown>>): {
  loss: CurvePoint[];
  miou: CurvePoint[];
} {
  const loss: CurvePoint[] = [];
  const miou: CurvePoint[] = [];
  for (const r of records) {
    if (r.event === 'step' && typeof r.step === 'number' && typeof r.loss === 'number')
      loss.push({ step: r.step, value: r.loss });
    if (r.event === 'eval' && typeof r.step === 'number' && typeof r.mIoU === 'number')
      miou.push({ step: r.step, value: r.mIoU });
  }
  return { loss, miou };
}

/** The demo's summary lines, printed at the end and put at the top of the report. */
export function summaryLines(f: DemoFigures): string[] {
  return [
    `val mIoU ${pct(f.metrics.meanIoU)} without CRF, ${pct(f.crfMetrics.meanIoU)} with CRF (${f.crfPreset}); predicting the most frequent class everywhere scores ${pct(f.chanceMiou)}`,
    `pixel accuracy ${pct(f.metrics.pixelAccuracy)} / ${pct(f.crfMetrics.pixelAccuracy)}, mAcc ${pct(f.metrics.meanAccuracy)} / ${pct(f.crfMetrics.meanAccuracy)}`,
    `FCN-8s width ${f.width}, ${f.steps} steps of batch ${f.batchSize} (${f.crop}x${f.crop} crops) on ${f.backend} in ${f.trainMinutes.toFixed(1)} min; ${f.minutes.toFixed(1)} min in all`,
  ];
}

export function demoReport(f: DemoFigures): string {
  return `# semseg demo report

${summaryLines(f)
  .map((l) => `- ${l}`)
  .join('\n')}

Data: ${f.trainImages} training and ${f.valImages} validation images written by \`semseg data synth\`
(coloured, textured shapes of the VOC classes on a textured background, 255 along outlines).

![training loss and validation mIoU](curve.png)

## Summary

| | aAcc | mIoU | mAcc | fwIoU |
| --- | ---: | ---: | ---: | ---: |
| network | ${pct(f.metrics.pixelAccuracy)} | ${pct(f.metrics.meanIoU)} | ${pct(f.metrics.meanAccuracy)} | ${pct(f.metrics.fwIoU)} |
| + CRF (${f.crfPreset}) | ${pct(f.crfMetrics.pixelAccuracy)} | ${pct(f.crfMetrics.meanIoU)} | ${pct(f.crfMetrics.meanAccuracy)} | ${pct(f.crfMetrics.fwIoU)} |

## Per class, network

${formatClassTable(f.metrics, { classNames: f.classes, style: 'markdown', columns: ['iou', 'accuracy'] })}

## Per class, with the CRF

${formatClassTable(f.crfMetrics, { classNames: f.classes, style: 'markdown', columns: ['iou', 'accuracy'] })}

${formatSummaryTable(f.crfMetrics, { style: 'markdown' })}

## Predictions (with the CRF)

${f.overlays.map((o) => `![${o}](${o})`).join('\n')}
`;
}
