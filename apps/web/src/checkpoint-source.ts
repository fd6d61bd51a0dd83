// Getting a checkpoint's two files (model.json + weights.bin, as the CLI writes them) from the
// user's files or from a URL. Parsing and validation are @semseg/core's; this only finds bytes.
import { CheckpointError, MODEL_JSON, parseCheckpointJson } from '@semseg/core';

export interface CheckpointFiles {
  /** Where it came from, for messages (a URL or the file names). */
  source: string;
  modelJsonText: string;
  /** The weight shards joined in manifest order. */
  weights: Uint8Array;
}

/** A file as the page sees it: a name and a way to read it (a DOM File fits). */
export interface NamedBlob {
  name: string;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

function concatenate(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function manifestPaths(modelJsonText: string, jsonName: string): string[] {
  const json = parseCheckpointJson(modelJsonText, jsonName);
  return json.weightsManifest.flatMap((group) => group.paths);
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/**
 * The checkpoint among chosen files: one .json file and the weight files its manifest names
 * (matched by file name; a single .bin is taken whatever its name).
 */
export async function checkpointFromFiles(files: readonly NamedBlob[]): Promise<CheckpointFiles> {
  const jsons = files.filter((f) => /\.json$/i.test(f.name));
  const bins = files.filter((f) => !/\.json$/i.test(f.name));
  if (jsons.length !== 1) {
    throw new CheckpointError(
      MODEL_JSON,
      jsons.length === 0
        ? "choose the checkpoint's model.json together with its weights.bin"
        : `choose one model.json, not ${jsons.length} JSON files`,
    );
  }
  const jsonFile = jsons[0]!;
  const text = await jsonFile.text();
  const paths = manifestPaths(text, jsonFile.name);
  let ordered: NamedBlob[];
  if (paths.length === 1 && bins.length === 1) {
    ordered = bins;
  } else {
    ordered = paths.map((path) => {
      const match = bins.find((b) => b.name === baseName(path));
      if (!match) {
        throw new CheckpointError(baseName(path), `${jsonFile.name} needs this weights file; choose it too`);
      }
      return match;
    });
  }
  const parts = await Promise.all(ordered.map(async (f) => new Uint8Array(await f.arrayBuffer())));
  return {
    source: [jsonFile.name, ...ordered.map((f) => f.name)].join(' + '),
    modelJsonText: text,
    weights: concatenate(parts),
  };
}

export type Fetcher = (url: string) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

async function fetchOrExplain(fetcher: Fetcher, url: string): ReturnType<Fetcher> {
  let response: Awaited<ReturnType<Fetcher>>;
  try {
    response = await fetcher(url);
  } catch (error) {
    throw new CheckpointError(
      url,
      `cannot be fetched (${(error as Error).message}); the server must allow this page's origin (CORS)`,
    );
  }
  if (!response.ok)
    throw new CheckpointError(url, `the server answered ${response.status} ${response.statusText}`.trim());
  return response;
}

/**
 * The checkpoint at a URL: the URL of model.json, or of the folder holding it; the weight files
 * are fetched relative to it, as the manifest names them.
 */
export async function checkpointFromUrl(
  url: string,
  fetcher: Fetcher,
  base?: string,
): Promise<CheckpointFiles> {
  let modelJsonUrl: URL;
  try {
    modelJsonUrl = new URL(url.trim(), base);
  } catch {
    throw new CheckpointError(url, 'is not a valid URL');
  }
  if (!/\.json$/i.test(modelJsonUrl.pathname)) {
    if (!modelJsonUrl.pathname.endsWith('/')) modelJsonUrl.pathname += '/';
    modelJsonUrl = new URL(MODEL_JSON, modelJsonUrl);
  }
  const href = modelJsonUrl.href;
  const text = await (await fetchOrExplain(fetcher, href)).text();
  const paths = manifestPaths(text, href);
  const parts = await Promise.all(
    paths.map(async (path) => {
      const weightsUrl = new URL(path, modelJsonUrl).href;
      return new Uint8Array(await (await fetchOrExplain(fetcher, weightsUrl)).arrayBuffer());
    }),
  );
  return { source: href, modelJsonText: text, weights: concatenate(parts) };
}
