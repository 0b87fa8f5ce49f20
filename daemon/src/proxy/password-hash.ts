import { spawn } from 'node:child_process';

/**
 * Hashes a basic-auth password as SHA-512 crypt (`$6$`), which HAProxy checks with crypt(3). The
 * password goes to `openssl passwd -6 -stdin` on standard input, so it never shows in a process
 * list. HAProxy runs crypt on every authenticated request; the default 5,000 rounds cost about a
 * millisecond of CPU each (estimate).
 */
export async function hashPassword(password: string, opensslBinary = '/usr/bin/openssl'): Promise<string> {
  if (password.length === 0 || password.length > 256 || /[\r\n\0]/.test(password)) {
    throw new Error('invalid password: expected 1 to 256 characters without line breaks or NUL');
  }
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(opensslBinary, ['passwd', '-6', '-stdin'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 10_000 });
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.once('error', (err) => reject(new Error(`cannot run ${opensslBinary} to hash a password: ${err.message}; install the openssl package`, { cause: err })));
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8').trim());
      else reject(new Error(`${opensslBinary} passwd failed with code ${code}: ${Buffer.concat(errors).toString('utf8').trim()}`));
    });
    child.stdin.end(`${password}\n`);
  });
  if (!/^\$6\$[A-Za-z0-9./]{1,16}\$[A-Za-z0-9./]{86}$/.test(output)) throw new Error(`${opensslBinary} passwd returned an unexpected hash format`);
  return output;
}
