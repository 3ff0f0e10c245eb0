// Serves the built site dashboard from a directory: index.html for directories, content types by
// extension, and nothing outside the directory (no `..`, no encoded separators, no symlinks out).
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ReadStream } from 'node:fs';

export const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export interface StaticFile {
  readonly stream: ReadStream;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly cacheControl: string;
}

/**
 * Maps a request path (still percent-encoded, without the query) to a file under rootDir, or
 * undefined when there is no such file or the path tries to leave the directory.
 */
export async function openStaticFile(rootDir: string, urlPath: string): Promise<StaticFile | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined; // malformed percent-encoding
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '..' || segment === '.')) return undefined;
  const root = await realpath(rootDir);
  try {
    let filePath = path.join(root, ...segments);
    if ((await stat(filePath)).isDirectory()) filePath = path.join(filePath, 'index.html');
    filePath = await realpath(filePath);
    if (!filePath.startsWith(root + path.sep)) return undefined;
    const info = await stat(filePath);
    if (!info.isFile()) return undefined;
    const extension = path.extname(filePath).toLowerCase();
    return {
      stream: createReadStream(filePath),
      contentType: contentTypes[extension] ?? 'application/octet-stream',
      sizeBytes: info.size,
      // Vite puts content-hashed files under assets/; everything else may change between builds.
      cacheControl: segments[0] === 'assets' ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP';
}
