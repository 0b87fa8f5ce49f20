import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { sendMail } from '../../daemon/src/acme/expiry-mail.js';

/** sendMail() against a recording sendmail script. */
describe('expiry mail', () => {
  let dir: string;
  let sendmail: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'send-mail-'));
    sendmail = join(dir, 'sendmail');
    await writeFile(sendmail, `#!/bin/sh\nprintf '%s\\n' "$@" > '${join(dir, 'argv.txt')}'\ncat > '${join(dir, 'message.txt')}'\n`);
    await chmod(sendmail, 0o755);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hands the message to sendmail', async () => {
    await sendMail(sendmail, ['root', 'admin@example.com'], 'subject line', 'body text');
    const argv = (await readFile(join(dir, 'argv.txt'), 'utf8')).split('\n').filter((line) => line !== '');
    const message = await readFile(join(dir, 'message.txt'), 'utf8');
    assert.deepEqual(argv, ['-oi', '--', 'root', 'admin@example.com']);
    assert.match(message, /^Subject: subject line$/m);
    assert.match(message, /^Auto-Submitted: auto-generated$/m);
    assert.match(message, /\n\nbody text\n$/);
  });

  it('rejects a header line break', async () => {
    await assert.rejects(sendMail(sendmail, ['root\nBcc: someone@example.org'], 'subject', 'body'), /contains a line break/);
    await assert.rejects(sendMail(sendmail, ['root'], 'subject\r\nBcc: someone@example.org', 'body'), /contains a line break/);
  });

  it('reports a failing sendmail', async () => {
    await assert.rejects(sendMail('/bin/false', ['root'], 'subject', 'body'), /exited with code 1/);
  });
});
