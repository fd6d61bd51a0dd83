import { describe, expect, it } from 'vitest';
import { ConfusionMatrix, MetricsError, formatClassTable, formatSummaryTable } from '../src/index.js';

// Class 0: IoU 1/2, class 1: IoU 1, class 2 predicted only (IoU 0, Acc nan), class 3 absent (nan).
const metrics = new ConfusionMatrix(4)
  .update(Uint8Array.from([0, 2, 1, 1]), Uint8Array.from([0, 0, 1, 1]))
  .compute();
const names = ['background', 'aeroplane', 'bi|cycle', 'bird'];

describe('formatClassTable', () => {
  it('prints an aligned text table with class names, nan for undefined scores and a mean row', () => {
    expect(formatClassTable(metrics, { classNames: names })).toBe(
      [
        'Class          IoU     Acc',
        '----------  ------  ------',
        'background   50.00   50.00',
        'aeroplane   100.00  100.00',
        'bi|cycle      0.00     nan',
        'bird           nan     nan',
        '----------  ------  ------',
        'mean         50.00   75.00',
      ].join('\n'),
    );
  });

  it('prints Markdown with escaped names and the chosen columns and digits', () => {
    expect(
      formatClassTable(metrics, {
        classNames: names,
        style: 'markdown',
        columns: ['iou', 'dice', 'precision'],
        digits: 1,
      }),
    ).toBe(
      [
        '| Class      |   IoU |  Dice | Precision |',
        '| :--------- | ----: | ----: | --------: |',
        '| background |  50.0 |  66.7 |     100.0 |',
        '| aeroplane  | 100.0 | 100.0 |     100.0 |',
        '| bi\\|cycle  |   0.0 |   0.0 |       0.0 |',
        '| bird       |   nan |   nan |       nan |',
        '| mean       |  50.0 |  55.6 |      66.7 |',
      ].join('\n'),
    );
  });

  it('names classes by index by default', () => {
    const lines = formatClassTable(metrics).split('\n');
    expect(lines.slice(2, 6).map((line) => line.split(/\s+/)[0])).toEqual(['0', '1', '2', '3']);
  });

  it('rejects bad options', () => {
    const messages = [
      () => formatClassTable(metrics, { classNames: ['a', 'b'] }),
      () => formatClassTable(metrics, { columns: [] }),
      () => formatClassTable(metrics, { columns: ['miou' as never] }),
      () => formatClassTable(metrics, { style: 'html' as never }),
      () => formatClassTable(metrics, { digits: -1 }),
    ].map((fn) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(MetricsError);
        return (error as Error).message;
      }
      return 'no error';
    });
    expect(messages[0]).toMatch(/classNames has 2 names but the metrics have 4 classes/);
    expect(messages[1]).toMatch(/columns is empty/);
    expect(messages[2]).toMatch(/unknown column "miou"; use iou, accuracy, dice, precision/);
    expect(messages[3]).toMatch(/style must be 'text' or 'markdown', got html/);
    expect(messages[4]).toMatch(/digits must be an integer in 0\.\.10, got -1/);
  });
});

describe('formatSummaryTable', () => {
  it('prints aAcc, mIoU, mAcc, fwIoU and mDice in both styles', () => {
    expect(formatSummaryTable(metrics)).toBe(
      [
        ' aAcc   mIoU   mAcc  fwIoU  mDice',
        '-----  -----  -----  -----  -----',
        '75.00  50.00  75.00  75.00  55.56',
      ].join('\n'),
    );
    expect(formatSummaryTable(metrics, { style: 'markdown', digits: 0 })).toBe(
      [
        '| aAcc | mIoU | mAcc | fwIoU | mDice |',
        '| ---: | ---: | ---: | ----: | ----: |',
        '|   75 |   50 |   75 |    75 |    56 |',
      ].join('\n'),
    );
  });

  it('prints nan for an empty matrix', () => {
    expect(formatSummaryTable(new ConfusionMatrix(2).compute()).split('\n')[2]).toBe(
      ' nan   nan   nan    nan    nan',
    );
  });
});
