/** Project paths, resolved from this file rather than the working directory. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (also correct when running from a compiled `dist/`). */
export const REPO_ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  ...(import.meta.url.includes('/dist/') ? ['..'] : []),
);

/** Default data folder (frozen fleets, the dev server's database): git-ignored. */
export const DEFAULT_DATA_DIR = resolve(REPO_ROOT, '.data');
