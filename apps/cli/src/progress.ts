import type { TrainEvent } from '@semseg/engine/node';
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** Draw a bar (a TTY) or print plain lines (logs, CI, pipes). */
  tty: boolean;
  /** Plain mode: a line every this many steps (and the first and last). */
  every: number;
  write: (text: string) => void;
  /** Shown in the first line: which backend runs (and why auto skipped others). */
  backend?: string;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function formatLr(lr: number): string {
  return lr === 0 ? '0' : lr.toExponential(2);
}

/**
 * Shows a training run: a bar with step, epoch, loss, lr, images/s and ETA on a terminal, plain
 * lines otherwise. ETA comes from the mean step time since the run (or resume) started.
 */
export class TrainProgress {
  private bar: cliProgress.SingleBar | null = null;
  private startTime = 0;
  private startStep = 0;
  private readonly options: ProgressOptions;

  constructor(options: ProgressOptions) {
    this.options = options;
  }

  private line(text: string): void {
    if (this.bar) this.bar.stop();
    this.options.write(`${text}\n`);
    if (this.bar) this.bar = null;
  }

  readonly onEvent = (event: TrainEvent): void => {
    switch (event.type) {
      case 'start': {
        this.startTime = performance.now();
        this.startStep = event.startStep;
        const from = event.resumed ? `resuming at step ${event.startStep}` : 'from step 0';
        const replicas = event.threads > 1 ? `, ${event.threads} replica threads` : '';
        const on = this.options.backend ? ` on ${this.options.backend}${replicas}` : replicas;
        this.line(
          `training ${event.model}${on}: ${event.trainImages} images, ${event.totalSteps} steps, ${from}`,
        );
        break;
      }
      case 'step': {
        const elapsed = (performance.now() - this.startTime) / 1000;
        const done = event.step - this.startStep;
        const eta = done > 0 ? (elapsed / done) * (event.totalSteps - event.step) : Number.NaN;
        const fields = {
          epoch: event.epoch,
          loss: event.loss.toFixed(4),
          lr: formatLr(event.lr),
          ips: event.imagesPerSecond.toFixed(1),
          remaining: formatDuration(eta),
        };
        if (this.options.tty) {
          if (!this.bar) {
            this.bar = new cliProgress.SingleBar(
              {
                format:
                  'step {value}/{total} [{bar}] epoch {epoch} | loss {loss} | lr {lr} | {ips} img/s | ETA {remaining}',
                barsize: 24,
                hideCursor: true,
                clearOnComplete: false,
                stream: process.stderr,
              },
              cliProgress.Presets.shades_classic,
            );
            this.bar.start(event.totalSteps, event.step, fields);
          }
          this.bar.update(event.step, fields);
        } else if (
          event.step === this.startStep + 1 ||
          event.step % this.options.every === 0 ||
          event.step === event.totalSteps
        ) {
          this.options.write(
            `step ${event.step}/${event.totalSteps} epoch ${fields.epoch} loss ${fields.loss} lr ${fields.lr} ${fields.ips} img/s ETA ${fields.remaining}\n`,
          );
        }
        break;
      }
      case 'eval': {
        const m = event.summary.metrics;
        const crf = event.summary.crfMetrics
          ? `, with CRF ${(event.summary.crfMetrics.meanIoU * 100).toFixed(2)}`
          : '';
        this.line(
          `eval at step ${event.step}: mIoU ${(m.meanIoU * 100).toFixed(2)}${crf}, aAcc ${(m.pixelAccuracy * 100).toFixed(2)} (${event.summary.images} images)`,
        );
        break;
      }
      case 'checkpoint':
        if (!this.options.tty) this.options.write(`checkpoint at step ${event.step}: ${event.path}\n`);
        break;
      case 'stopped':
        if (this.bar) {
          this.bar.stop();
          this.bar = null;
        }
        break;
    }
  };

  stop(): void {
    if (this.bar) this.bar.stop();
    this.bar = null;
  }
}
