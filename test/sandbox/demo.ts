/**
 * `npm run demo`: starts the sandbox and the daemon, registers example.com, exposes container
 * 101 as app.example.com, prints one line starting with "READY " followed by the curl command
 * that fetches the page through HAProxy, and runs until interrupted.
 */
import { sandboxAdmin, startSandbox } from './sandbox.js';

const sandbox = await startSandbox({ keepDir: true });
let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stderr.write('demo: stopping every process the sandbox started\n');
  await sandbox.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  await sandbox.startDaemon();
  const domain = await sandbox.cli([
    'create',
    '/domains',
    '--domain',
    sandbox.zone,
    '--acme-directory',
    sandbox.pebble.directoryUrl,
    '--acme-email',
    `admin@${sandbox.zone}`,
    '--cloudflare-token',
    sandbox.cloudflareToken,
  ]);
  if (domain.code !== 0) throw new Error(`registering ${sandbox.zone} failed: ${domain.stderr}`);
  const service = await sandbox.cli(['create', '/services', '--subdomain', 'app', '--domain', sandbox.zone, '--vmid', '101', '--port', String(sandbox.containers[0]?.port)]);
  if (service.code !== 0) throw new Error(`exposing container 101 failed: ${service.stderr}`);
  const fqdn = `app.${sandbox.zone}`;
  await sandbox.waitForService(fqdn, 'active', 120_000);
  const page = await sandbox.fetchHttps(fqdn);
  if (page.status !== 200) throw new Error(`https://${fqdn} answered ${page.status}`);
  process.stderr.write(`demo: sandbox files and logs are in ${sandbox.dir}; press Ctrl-C to stop\n`);
  process.stderr.write(
    `demo: CLI socket ${sandbox.socket}; HTTPS API ${sandbox.apiUrl}/api2/json (CA ${sandbox.apiCaFile}); ` +
      `PVE simulator ${sandbox.pve.url}, user ${sandboxAdmin.user}, password ${sandboxAdmin.password}\n`,
  );
  process.stdout.write(
    `READY curl --cacert ${sandbox.pebble.rootFile} --resolve ${fqdn}:${sandbox.httpsPort}:127.0.0.1 https://${fqdn}:${sandbox.httpsPort}/\n`,
  );
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message}; logs are in ${sandbox.dir}\n`);
  await shutdown(1);
}
