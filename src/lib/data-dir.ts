import { statSync } from 'node:fs';

/**
 * Why the data dir's permissions are unsafe, or undefined when only its owner can get in. It
 * holds the database, the key files and bot configs: group or other access lets any local user
 * reach whatever file in it is not owner-only.
 */
export function dataDirWarning(dir: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(dir).mode & 0o777;
  } catch {
    return undefined; // not there yet: it is made 0700
  }
  if ((mode & 0o077) === 0) return undefined;
  return `data dir ${dir} is open to other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 700 ${dir}`;
}
