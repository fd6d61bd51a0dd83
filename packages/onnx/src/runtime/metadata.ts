import { type CheckpointMeta, InputError } from '@semseg/core';
import { z } from 'zod';

/** The metadata_props key under which an exported graph carries its checkpoint's description. */
export const SEMSEG_METADATA_KEY = 'semseg';
const FORMAT = 'semseg-onnx';
const VERSION = 1;

const rgb = z.tuple([
  z.number().int().min(0).max(255),
  z.number().int().min(0).max(255),
  z.number().int().min(0).max(255),
]);
const metadataSchema = z.object({
  format: z.literal(FORMAT),
  version: z.number().int().min(1),
  architecture: z.object({ name: z.string().min(1), config: z.record(z.string(), z.unknown()) }),
  classes: z.array(z.string()).min(1),
  palette: z.array(rgb),
  normalization: z.object({
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    scale: z.union([z.literal(1), z.literal(255)]),
    channelOrder: z.enum(['rgb', 'bgr']),
  }),
});

/**
 * The metadata_props an exported graph carries so that it predicts like its checkpoint: classes,
 * palette, normalisation and architecture (no training state). Pass it as `exportOnnx`'s `metadata`.
 */
export function checkpointMetadata(meta: CheckpointMeta): Record<string, string> {
  const { architecture, classes, palette, normalization } = meta;
  return {
    [SEMSEG_METADATA_KEY]: JSON.stringify({
      format: FORMAT,
      version: VERSION,
      architecture,
      classes,
      palette,
      normalization,
    }),
  };
}

/** The checkpoint description of an exported graph's metadata_props; `source` names the file in errors. */
export function readCheckpointMetadata(
  props: Readonly<Record<string, string>>,
  source: string,
): CheckpointMeta {
  const text = props[SEMSEG_METADATA_KEY];
  if (text === undefined)
    throw new InputError(
      `${source}: no '${SEMSEG_METADATA_KEY}' metadata (classes, normalisation): export it with \`semseg export --to onnx\``,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`${source}: its '${SEMSEG_METADATA_KEY}' metadata is not JSON`);
  }
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      `${source}: '${SEMSEG_METADATA_KEY}' metadata: ${issue.path.join('.') || 'value'}: ${issue.message}`,
    );
  }
  if (parsed.data.version > VERSION)
    throw new InputError(
      `${source}: metadata version ${parsed.data.version} is newer than this semseg.js reads (${VERSION})`,
    );
  const { architecture, classes, palette, normalization } = parsed.data;
  return { architecture, classes, palette, normalization };
}
