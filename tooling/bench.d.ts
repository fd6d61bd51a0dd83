export interface Measurement {
  medianMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}
export interface MeasureOptions {
  warmup?: number;
  iterations?: number;
  minTimeMs?: number;
  maxIterations?: number;
}
export declare function measure(fn: () => unknown, options?: MeasureOptions): Promise<Measurement>;
export type BenchRow = { name: string; baseline?: string; ratio?: number } & Record<string, unknown>;
export declare function printTable(
  title: string,
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
): void;
export declare function addRatios<R extends BenchRow>(rows: R[], metric?: string): R[];
export declare function writeResults(suite: string, data: Record<string, unknown>): string;
