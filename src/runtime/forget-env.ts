import fs from 'node:fs';

/**
 * Removes a variable from this process's environment, and on Linux also overwrites its value in
 * the environment block the kernel shows as `/proc/<pid>/environ`: `delete process.env[name]`
 * (unsetenv) only drops the pointer, so the original text stays readable there for the life of
 * the process. The bytes are overwritten through `/proc/self/mem` once nothing points at them
 * (after the unset). Returns whether the block was scrubbed; where it cannot be (not Linux, a
 * kernel that refuses writes to /proc/self/mem), the variable is still unset.
 */
export function forgetEnv(name: string): boolean {
  const had = process.env[name] !== undefined;
  delete process.env[name];
  if (!had || process.platform !== 'linux') return false;
  try {
    return scrubEnvironBlock(name);
  } catch {
    return false;
  }
}

function scrubEnvironBlock(name: string): boolean {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  // Fields after "(comm)"; env_start and env_end are fields 50 and 51 of proc_pid_stat(5).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[50 - 3]);
  const end = Number(fields[51 - 3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start || end - start > 1 << 24) return false;
  const fd = fs.openSync('/proc/self/mem', 'r+');
  try {
    const block = Buffer.alloc(end - start);
    fs.readSync(fd, block, 0, block.length, start);
    const key = Buffer.from(`${name}=`);
    let scrubbed = false;
    for (let i = block.indexOf(key); i >= 0; i = block.indexOf(key, i + 1)) {
      if (i > 0 && block[i - 1] !== 0) continue; // a value that merely contains NAME=
      const valueAt = i + key.length;
      const valueEnd = block.indexOf(0, valueAt);
      const fill = Buffer.alloc((valueEnd < 0 ? block.length : valueEnd) - valueAt, '*');
      if (fill.length) fs.writeSync(fd, fill, 0, fill.length, start + valueAt);
      scrubbed = true;
    }
    return scrubbed;
  } finally {
    fs.closeSync(fd);
  }
}
