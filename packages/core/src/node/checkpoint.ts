import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  type CheckpointJson,
  type CheckpointMeta,
  type DecodedCheckpoint,
  MODEL_JSON,
  WEIGHTS_BIN,
  decodeCheckpoint,
  encodeCheckpoint,
  parseCheckpointJson,
} from '../checkpoint.js';
import { CheckpointError } from '../errors.js';
import type { StateDict } from '../module.js';
import type { Sha256 } from '../sha256.js';

/** node:crypto's SHA-256: several times faster than the pure-TS digest on large weights. */
export const nodeSha256: Sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Points inside a save, for tests that kill a process there (see `SaveCheckpointOptions`). */
export type SaveStage = 'weights-written' | 'swapping';

export interface SaveCheckpointOptions {
  /**
   * Called (and awaited) when the save reaches a stage: `weights-written` (weights.bin is in the
   * temporary folder, model.json not yet), `swapping` (the previous checkpoint has been moved
   * aside, the new one not yet moved in). For fault-injection tests only.
   */
  onStage?: (stage: SaveStage) => Promise<void> | void;
}

/**
 * Writes a checkpoint folder (model.json + weights.bin) atomically: the files go to a temporary
 * sibling folder that is renamed into place, so an interrupted save never leaves a half-written
 * checkpoint and never destroys the previous one (a process killed between the two renames leaves
 * the previous one aside, where `recoverCheckpoint` puts it back).
 */
export async function saveCheckpoint(
  dir: string,
  tensors: StateDict,
  meta: CheckpointMeta,
  optimizerTensors: StateDict = {},
  options: SaveCheckpointOptions = {},
): Promise<string> {
  const target = resolve(dir);
  const { modelJson, weights } = await encodeCheckpoint(tensors, meta, optimizerTensors, nodeSha256);
  await mkdir(dirname(target), { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${suffix}`);
  const old = join(dirname(target), `.${basename(target)}.old-${suffix}`);
  await mkdir(tmp);
  try {
    await writeFile(join(tmp, WEIGHTS_BIN), weights);
    await options.onStage?.('weights-written');
    await writeFile(join(tmp, MODEL_JSON), `${JSON.stringify(modelJson, null, 2)}\n`);
    const existed = await exists(target);
    if (existed) await rename(target, old);
    try {
      if (existed) await options.onStage?.('swapping');
      await rename(tmp, target);
    } catch (e) {
      if (existed) await rename(old, target);
      throw e;
    }
    if (existed) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return target;
}

/**
 * Repairs what a killed `saveCheckpoint(dir)` can leave: when `dir` is missing but the previous
 * checkpoint was moved aside (`.<name>.old-*`, killed between the two renames), it is moved back;
 * unfinished temporary folders and leftover old ones are removed. Returns whether `dir` holds a
 * checkpoint afterwards. Call it only when no save of `dir` is running.
 */
export async function recoverCheckpoint(dir: string): Promise<boolean> {
  const target = resolve(dir);
  const parent = dirname(target);
  const name = basename(target);
  const entries = await readdir(parent).catch(() => [] as string[]);
  const olds = entries.filter((e) => e.startsWith(`.${name}.old-`));
  const temps = entries.filter((e) => e.startsWith(`.${name}.tmp-`));
  if (!(await exists(join(target, MODEL_JSON)))) {
    for (const old of olds) {
      if (await exists(join(parent, old, MODEL_JSON))) {
        await rm(target, { recursive: true, force: true });
        await rename(join(parent, old), target);
        break;
      }
    }
  }
  for (const leftover of [...olds, ...temps])
    await rm(join(parent, leftover), { recursive: true, force: true });
  return exists(join(target, MODEL_JSON));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Resolves a checkpoint folder or its model.json to the two file paths. */
export async function checkpointFiles(
  path: string,
): Promise<{ dir: string; modelJson: string; weights: string }> {
  const full = resolve(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(full);
  } catch {
    throw new CheckpointError(path, 'checkpoint not found (no such file or folder)');
  }
  const dir = info.isDirectory() ? full : dirname(full);
  const modelJson = info.isDirectory() ? join(full, MODEL_JSON) : full;
  return { dir, modelJson, weights: join(dir, WEIGHTS_BIN) };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      file,
      code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(e)})`,
    );
  }
}

/** Reads and validates a checkpoint's model.json only (no tensors are created). */
export async function readCheckpointMeta(path: string): Promise<CheckpointJson> {
  const files = await checkpointFiles(path);
  return parseCheckpointJson(await readText(files.modelJson), files.modelJson);
}

/** Reads a checkpoint folder (or its model.json). The caller owns the returned tensors. */
export async function loadCheckpoint(
  path: string,
): Promise<DecodedCheckpoint & { files: { modelJson: string; weights: string } }> {
  const files = await checkpointFiles(path);
  const text = await readText(files.modelJson);
  const json = parseCheckpointJson(text, files.modelJson);
  const paths = json.weightsManifest.flatMap((g) => g.paths);
  if (paths.length !== 1) {
    throw new CheckpointError(
      files.modelJson,
      `expected one weights file in weightsManifest, found ${paths.length}`,
    );
  }
  if (basename(paths[0]!) !== paths[0] || paths[0] === '..' || paths[0] === '.') {
    throw new CheckpointError(
      files.modelJson,
      `weights path ${JSON.stringify(paths[0])} must be a file name in the checkpoint folder`,
    );
  }
  const weightsPath = join(files.dir, paths[0]!);
  let weights: Buffer;
  try {
    weights = await readFile(weightsPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(weightsPath, code === 'ENOENT' ? 'file not found' : `cannot be read (${code})`);
  }
  const decoded = decodeCheckpoint(
    text,
    new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
    {
      modelJson: files.modelJson,
      weights: weightsPath,
    },
    nodeSha256,
  );
  return { ...decoded, files: { modelJson: files.modelJson, weights: weightsPath } };
}
