import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A dependency's installed version, or undefined when it is not installed. */
export function packageVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** This CLI's version (from its package.json, one folder above dist/ and src/). */
export function cliVersion(): string {
  return (require('../package.json') as { version: string }).version;
}
