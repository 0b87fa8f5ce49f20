import { spawn } from 'node:child_process';

/** Time allowed for sendmail to accept one message. */
const sendmailTimeoutMs = 30_000;

/**
 * Hands a plain-text message to the local MTA through `sendmailPath -oi -- recipients`. On a PVE
 * node, mail to root becomes a notification that PVE's matchers and targets deliver.
 */
export function sendMail(sendmailPath: string, recipients: string[], subject: string, body: string): Promise<void> {
  // A line break in a header value would let it add headers or recipients of its own.
  const unsafe = [...recipients, subject].find((value) => /[\r\n]/.test(value));
  if (unsafe !== undefined) {
    return Promise.reject(new Error(`Unable to send mail: the header value ${JSON.stringify(unsafe)} contains a line break; fix the recipient or subject`));
  }
  const message = [`To: ${recipients.join(', ')}`, `Subject: ${subject}`, 'Content-Type: text/plain; charset=utf-8', 'Auto-Submitted: auto-generated', '', body, ''].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(sendmailPath, ['-oi', '--', ...recipients], { stdio: ['pipe', 'ignore', 'pipe'], timeout: sendmailTimeoutMs });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => reject(new Error(`Unable to run ${sendmailPath}: ${err.message}; set certificates.sendmailPath`, { cause: err })));
    let writeError: Error | null = null;
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${sendmailPath} exited with code ${String(code)}: ${stderr.trim()}`));
      else if (writeError !== null) reject(new Error(`Unable to write the message to ${sendmailPath}: ${writeError.message}`, { cause: writeError }));
      else resolve();
    });
    // A sendmail that exits without reading its input raises EPIPE on stdin, so its exit code decides the error.
    child.stdin.on('error', (err) => {
      writeError = err;
    });
    child.stdin.end(message);
  });
}
