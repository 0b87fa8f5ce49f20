import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Diagnosis, DiagnosticCheck } from '../../daemon/src/diagnose/types.js';
import type { DaemonStatus } from '../../daemon/src/diagnose/status.js';
import { RuntimeApiClient } from '../../daemon/src/proxy/runtime-api.js';
import type { TokenPermission } from '../sandbox/cloudflare/index.js';
import { waitFor } from '../sandbox/processes.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';

/**
 * `GET /diagnose/{name}` and `GET /status` against the sandbox: Cloudflare simulator with two
 * authoritative DNS servers, Pebble behind the ACME front, HAProxy and the daemon. Each failing
 * state is set, diagnosed and undone in turn.
 */
describe('diagnose', () => {
  let sandbox: Sandbox;
  const zone = 'example.com';
  const fqdn = 'app.example.com';
  const secondary = '127.0.0.3';
  /** CAA identity the ACME front publishes for Pebble, which publishes none itself. */
  const caaIdentity = 'pebble.sandbox.test';
  const fullAccess: TokenPermission[] = ['zone:read', 'dns_records:read', 'dns_records:edit'];

  async function diagnose(name: string): Promise<Diagnosis> {
    const answer = await sandbox.api('GET', `/diagnose/${name}`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.data as Diagnosis;
  }

  function check(diagnosis: Diagnosis, id: string): DiagnosticCheck {
    const found = diagnosis.checks.find((item) => item.id === id);
    assert.ok(found !== undefined, `no check ${id} in ${JSON.stringify(diagnosis.checks.map((item) => item.id))}`);
    return found;
  }

  function probeRecords(): string[] {
    return sandbox.cloudflare
      .records(zone)
      .filter((record) => record.type === 'TXT' && (record.content ?? '').includes('pve-domains-diagnose'))
      .map((record) => record.name);
  }

  function restoreToken(): void {
    sandbox.cloudflare.addToken(sandbox.cloudflareToken, { zones: [zone], permissions: fullAccess });
  }

  before(async () => {
    sandbox = await startSandbox({
      acmeFront: true,
      cloudflare: { secondaryDnsHost: secondary },
      // The probe waits at most dns.propagationTimeoutMs for the servers; the sandbox's DNS answers at once.
      configure: (config) => {
        (config['dns'] as Record<string, unknown>)['propagationTimeoutMs'] = 3_000;
      },
    });
    sandbox.acmeFront?.setDirectoryMeta({ caaIdentities: [caaIdentity] });
    await sandbox.startDaemon();
    const domain = await sandbox.api('POST', '/domains', { domain: zone, 'acme-directory': sandbox.acmeDirectoryUrl, 'acme-email': 'admin@example.com', 'cloudflare-token': sandbox.cloudflareToken });
    assert.equal(domain.status, 200, JSON.stringify(domain.body));
    const service = await sandbox.api('POST', '/services', { subdomain: 'app', domain: zone, vmid: 101, port: sandbox.containers[0]?.port });
    assert.equal(service.status, 200, JSON.stringify(service.body));
    await sandbox.waitForService(fqdn, 'active', 60_000);
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('status has the fixed shape', async () => {
    const answer = await sandbox.api('GET', '/status');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const status = answer.body.data as DaemonStatus;
    assert.deepEqual(Object.keys(status).sort(), ['haproxy', 'lock', 'node', 'queue', 'quorate', 'version']);
    assert.equal(typeof status.node, 'string');
    assert.match(status.version, /^\d+\.\d+\.\d+/);
    assert.equal(status.lock.held, true);
    assert.equal(status.lock.holder, status.node);
    assert.equal(status.quorate, true);
    assert.equal(status.haproxy.running, true);
    assert.ok(Number.isInteger(status.haproxy.pid), `pid ${String(status.haproxy.pid)}`);
    assert.match(status.haproxy.version ?? '', /^\d+\.\d+/);
    assert.equal(status.queue.failing, 0);
    assert.ok(Number.isInteger(status.queue.pending));
  });

  it('healthy service is all ok', async () => {
    const diagnosis = await diagnose(fqdn);
    assert.equal(diagnosis.kind, 'service');
    assert.equal(diagnosis.name, fqdn);
    for (const item of diagnosis.checks) assert.equal(item.verdict, 'ok', `${item.id}: ${item.message} ${item.fix ?? ''}`);
    assert.deepEqual(
      diagnosis.checks.map((item) => item.id),
      ['credentials', 'zone', 'delegation', 'dns-edit', 'records', 'conflicts', 'acme-challenge', 'ca-directory', 'caa', 'rate-limits', 'renewal', 'served-certificate', 'certificate-expiry'],
    );
    assert.equal(diagnosis.verdict, 'ok');
    assert.match(check(diagnosis, 'acme-challenge').message, new RegExp(`\\(${secondary.replaceAll('.', '\\.')}\\)`));
    assert.deepEqual(probeRecords(), []);
  });

  it('healthy domain is all ok', async () => {
    const diagnosis = await diagnose('Example.COM.');
    assert.equal(diagnosis.kind, 'domain');
    assert.equal(diagnosis.name, zone);
    for (const item of diagnosis.checks) assert.equal(item.verdict, 'ok', `${item.id}: ${item.message} ${item.fix ?? ''}`);
    assert.equal(diagnosis.checks.some((item) => item.id === 'served-certificate'), false);
    assert.equal(diagnosis.verdict, 'ok');
  });

  it('unknown name is 404', async () => {
    const answer = await sandbox.api('GET', '/diagnose/nothing.example.org');
    assert.equal(answer.status, 404);
    assert.match(answer.body.message ?? '', /nothing\.example\.org/);
  });

  it('inactive token fails credentials', async () => {
    sandbox.cloudflare.addToken(sandbox.cloudflareToken, { zones: [zone], permissions: fullAccess, status: 'disabled' });
    try {
      const diagnosis = await diagnose(fqdn);
      const credentials = check(diagnosis, 'credentials');
      assert.equal(credentials.verdict, 'failed');
      assert.match(credentials.message, /is disabled/);
      assert.match(credentials.fix ?? '', /Enable the token/);
      assert.match(credentials.fix ?? '', /pve-domains set \/domains\/example\.com --cloudflare-token-file FILE/);
      assert.equal(check(diagnosis, 'dns-edit').verdict, 'skipped');
      assert.equal(diagnosis.verdict, 'failed');
    } finally {
      restoreToken();
    }
    assert.deepEqual(probeRecords(), []);
  });

  it('revoked token fails credentials', async () => {
    sandbox.cloudflare.revokeToken(sandbox.cloudflareToken);
    try {
      const diagnosis = await diagnose(fqdn);
      const credentials = check(diagnosis, 'credentials');
      assert.equal(credentials.verdict, 'failed');
      assert.match(credentials.message, /^Cloudflare rejected the API token as invalid, revoked or expired \(1000\)/);
      assert.match(credentials.fix ?? '', /Zone:Zone:Read and Zone:DNS:Edit on example\.com/);
    } finally {
      restoreToken();
    }
  });

  it('missing DNS edit fails dns-edit', async () => {
    sandbox.cloudflare.addToken(sandbox.cloudflareToken, { zones: [zone], permissions: ['zone:read', 'dns_records:read'] });
    try {
      const diagnosis = await diagnose(fqdn);
      assert.equal(check(diagnosis, 'credentials').verdict, 'ok');
      const edit = check(diagnosis, 'dns-edit');
      assert.equal(edit.verdict, 'failed');
      assert.match(edit.message, /rejected the creation of the probe TXT record _acme-challenge\.app\.example\.com/);
      assert.match(edit.fix ?? '', /Zone:DNS:Edit on example\.com/);
      assert.equal(check(diagnosis, 'acme-challenge').verdict, 'skipped');
    } finally {
      restoreToken();
    }
    assert.deepEqual(probeRecords(), []);
  });

  it('pending zone fails zone', async () => {
    sandbox.cloudflare.setZoneStatus(zone, 'pending');
    try {
      const diagnosis = await diagnose(fqdn);
      const zoneCheck = check(diagnosis, 'zone');
      assert.equal(zoneCheck.verdict, 'failed');
      assert.match(zoneCheck.message, /is pending/);
      assert.match(zoneCheck.fix ?? '', /At the registrar of example\.com, replace the nameservers with ada\.ns\.sandbox\.test, bob\.ns\.sandbox\.test/);
      assert.equal(check(diagnosis, 'acme-challenge').verdict, 'skipped');
    } finally {
      sandbox.cloudflare.setZoneStatus(zone, 'active');
    }
    assert.deepEqual(probeRecords(), []);
  });

  it('TXT missing at one server fails', async () => {
    sandbox.cloudflare.setDnsServerFrozen(secondary, true);
    let diagnosis: Diagnosis;
    try {
      diagnosis = await diagnose(fqdn);
    } finally {
      sandbox.cloudflare.setDnsServerFrozen(secondary, false);
    }
    const challenge = check(diagnosis, 'acme-challenge');
    assert.equal(challenge.verdict, 'failed');
    assert.match(challenge.message, /^1 of 2 authoritative servers/);
    assert.match(challenge.message, /bob\.ns\.sandbox\.test \(127\.0\.0\.3\) answers NXDOMAIN without the record/);
    assert.match(challenge.message, /ada\.ns\.sandbox\.test \(127\.0\.0\.1\) answers it/);
    assert.match(challenge.fix ?? '', /did not publish the record within 3 s/);
    assert.equal(check(diagnosis, 'dns-edit').verdict, 'ok');
    assert.deepEqual(probeRecords(), []);
  });

  it('CAA forbidding the CA fails caa', async () => {
    const record = sandbox.cloudflare.addRecord(zone, { type: 'CAA', name: zone, content: '0 issue "letsencrypt.org"' });
    try {
      const diagnosis = await diagnose(fqdn);
      const caa = check(diagnosis, 'caa');
      assert.equal(caa.verdict, 'failed');
      assert.match(caa.message, /allow only letsencrypt\.org for app\.example\.com/);
      assert.match(caa.fix ?? '', new RegExp(`CAA record at example\\.com with the tag issue and the value ${caaIdentity.replaceAll('.', '\\.')}`));
    } finally {
      await deleteRecord(record.id);
    }
    const after = await diagnose(fqdn);
    assert.equal(check(after, 'caa').verdict, 'ok');
  });

  it('foreign record fails conflicts', async () => {
    const foreign = sandbox.cloudflare.addRecord(zone, { type: 'A', name: fqdn, content: '192.0.2.40', comment: 'made by hand' });
    try {
      const diagnosis = await diagnose(fqdn);
      const conflicts = check(diagnosis, 'conflicts');
      assert.equal(conflicts.verdict, 'failed');
      assert.match(conflicts.message, /A 192\.0\.2\.40/);
      assert.match(conflicts.fix ?? '', /Delete these records in the Cloudflare dashboard/);
      assert.equal(check(diagnosis, 'records').verdict, 'ok');
    } finally {
      await deleteRecord(foreign.id);
    }
  });

  it('old served certificate fails', async () => {
    const certificateFile = join(sandbox.dir, 'haproxy', 'certs', `${fqdn}.pem`);
    const oldBundle = await readFile(certificateFile, 'utf8');
    const oldSerial = (await sandbox.fetchHttps(fqdn)).certificate.serialNumber.toLowerCase();
    const renewed = await sandbox.api('POST', `/certificates/${fqdn}/renew`);
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    await waitFor('the renewed certificate to be served', async () => (await sandbox.fetchHttps(fqdn)).certificate.serialNumber.toLowerCase() !== oldSerial, 30_000, 200);

    // Put the previous certificate back into the running HAProxy only, as a node that missed the update would serve it.
    const runtime = new RuntimeApiClient(join(sandbox.dir, 'run', 'haproxy', 'admin.sock'));
    await runtime.execute({ command: `set ssl cert ${certificateFile}`, payload: oldBundle.trim() });
    await runtime.execute({ command: `commit ssl cert ${certificateFile}`, expect: /Success!/ });
    assert.equal((await sandbox.fetchHttps(fqdn)).certificate.serialNumber.toLowerCase(), oldSerial);

    const diagnosis = await diagnose(fqdn);
    const served = check(diagnosis, 'served-certificate');
    assert.equal(served.verdict, 'failed');
    assert.match(served.message, new RegExp(`serial ${oldSerial}`));
    assert.match(served.fix ?? '', /systemctl restart pve-domainsd/);
    assert.equal(check(diagnosis, 'certificate-expiry').verdict, 'ok');
  });

  /** Deletes a record through the simulator's API, as an admin would in the dashboard. */
  async function deleteRecord(id: string): Promise<void> {
    const headers = { authorization: `Bearer ${sandbox.cloudflareToken}` };
    const zones = (await (await fetch(`${sandbox.cloudflare.apiBaseUrl}/zones?name=${zone}`, { headers })).json()) as { result: Array<{ id: string }> };
    const zoneId = zones.result[0]?.id ?? '';
    const answer = await fetch(`${sandbox.cloudflare.apiBaseUrl}/zones/${zoneId}/dns_records/${id}`, { method: 'DELETE', headers });
    assert.equal(answer.status, 200);
  }
});
