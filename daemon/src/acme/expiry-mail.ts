import { spawn } from 'node:child_process';

/** Time allowed for sendmail to accept one message. */
const sendmailTimeoutMs = 30_000;

/**
 * Hands a plain-text message to the local MTA through `sendmailPath -oi -- recipients`. On a PVE
 * node, mail to root becomes a notification that PVE's matchers and targets deliver.
 */
export function sendMail(sendmailPath: string, recipients: string[], subject: string, body: string): Promise<void> {
  const message = [`To: ${recipients.join(', ')}`, `Subject: ${subject}`, 'Content-Type: text/plain; charset=utf-8', 'Auto-Submitted: auto-generated', '', body, ''].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(sendmailPath, ['-oi', '--', ...recipients], { stdio: ['pipe', 'ignore', 'pipe'], timeout: sendmailTimeoutMs });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => reject(new Error(`Unable to run ${sendmailPath}: ${err.message}; set certificates.sendmailPath`, { cause: err })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${sendmailPath} exited with code ${String(code)}: ${stderr.trim()}`));
    });
    // A sendmail that exits without reading its input would otherwise raise EPIPE on stdin.
    child.stdin.on('error', (err) => reject(new Error(`Unable to write the message to ${sendmailPath}: ${err.message}`, { cause: err })));
    child.stdin.end(message);
  });
}
