import { statSync } from 'node:fs';

/**
 * Why the file at `path` is not one to read whole (a database, a policy), in words, or null when it
 * is a regular file or is not there at all (opening it then says so). Asked before opening: a
 * named pipe with no writer would make the open wait forever, and a device would never end.
 */
export function notRegularFile(path: string): string | null {
  let st;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'is a named pipe, not a file: write it to a file first';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device, not a file';
  if (st.isSocket()) return 'is a socket, not a file';
  return 'is not a regular file';
}
