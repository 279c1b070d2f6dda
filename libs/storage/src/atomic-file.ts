// Replacing a small file atomically: write a temporary file (fsync it when asked), then rename it over the old one,
// so a crash leaves either the old content or the new, never a torn mix.
import { open, rename } from 'node:fs/promises';

export async function writeFileAtomically(path: string, data: string | Buffer, options: { sync?: boolean } = {}): Promise<void> {
  const handle = await open(`${path}.tmp`, 'w');
  try {
    await handle.writeFile(data);
    if (options.sync) await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(`${path}.tmp`, path);
}
