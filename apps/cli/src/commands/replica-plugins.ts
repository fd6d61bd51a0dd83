// The modules a replica thread (--threads > 1) imports to register the models: the packages
// ../models.ts imports, resolved from this package so that a thread finds the same copies.

const MODEL_PACKAGES = [
  '@semseg/fcn',
  '@semseg/unet',
  '@semseg/fc-densenet',
  '@semseg/pspnet',
  '@semseg/deconvnet',
  '@semseg/deeplab',
] as const;

/** File URLs of the model packages (bare names where this runtime cannot resolve them). */
export function replicaPlugins(): string[] {
  return MODEL_PACKAGES.map((name) => {
    try {
      return import.meta.resolve(name);
    } catch {
      return name;
    }
  });
}
