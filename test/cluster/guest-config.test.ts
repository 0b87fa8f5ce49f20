import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { editTags, PveGuestConfig, ruleComment, type GuestRef } from '../../daemon/src/pve/guest-config.js';
import { callApi } from '../sandbox/pve/client.js';
import { startPveSimulator, type PveSimulator } from '../sandbox/pve/index.js';

const TOKEN_SECRET = '0b6a3c4e-5d2f-4a1b-9c8d-7e6f5a4b3c2d';
const ADMIN_SECRET = '1c7b4d5f-6e3a-4b2c-8d9e-0f1a2b3c4d5e';
const guest: GuestRef = { vmid: 101, node: 'pve1', type: 'lxc' };

interface Rule {
  pos: number;
  comment?: string;
  enable?: number;
  dport?: string;
  source?: string;
  proto?: string;
  action?: string;
}

describe('guest configuration', () => {
  let pve: PveSimulator;
  let dir: string;
  let config: PveGuestConfig;
  let admin: { id: string; secret: string };

  async function rules(): Promise<Rule[]> {
    const answer = await callApi(pve.url, 'GET', '/nodes/pve1/lxc/101/firewall/rules', { token: admin });
    return (answer.json as { data: Rule[] }).data;
  }

  async function tags(): Promise<string | undefined> {
    const answer = await callApi(pve.url, 'GET', '/nodes/pve1/lxc/101/config', { token: admin });
    return (answer.json as { data: { tags?: string } }).data.tags;
  }

  async function setFirewall(enable: 0 | 1): Promise<void> {
    const answer = await callApi(pve.url, 'PUT', '/nodes/pve1/lxc/101/firewall/options', { token: admin }, { enable });
    assert.equal(answer.status, 200, answer.text);
  }

  before(async () => {
    pve = await startPveSimulator({ containers: [{ vmid: 101, hostname: 'app', address: '127.0.0.11', port: 8080, tags: ['prod', 'web'] }] });
    const tokenId = pve.addApiToken('pve-domains@pve', 'daemon', TOKEN_SECRET, {
      privsep: false,
      privileges: { '/vms': ['VM.Audit', 'VM.Config.Network', 'VM.Config.Options'] },
    });
    admin = { id: pve.addApiToken('root@pam', 'test', ADMIN_SECRET, { privsep: false }), secret: ADMIN_SECRET };
    dir = await mkdtemp(join(tmpdir(), 'guest-config-'));
    await writeFile(join(dir, 'token'), `${TOKEN_SECRET}\n`, { mode: 0o600 });
    config = new PveGuestConfig({ url: pve.url, tokenId, tokenSecretFile: join(dir, 'token'), logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await pve.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds no rule with the firewall off', async () => {
    const outcome = await config.ensureServiceRule(guest, { fqdn: 'app.example.com', port: 8080, sources: ['10.0.0.1'] });
    assert.equal(outcome, 'firewall-disabled');
    assert.deepEqual(await rules(), []);
  });

  it('adds an enabled rule at the top', async () => {
    await setFirewall(1);
    await callApi(pve.url, 'POST', '/nodes/pve1/lxc/101/firewall/rules', { token: admin }, { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 1, comment: 'ssh by hand' });
    const outcome = await config.ensureServiceRule(guest, { fqdn: 'app.example.com', port: 8080, sources: ['10.0.0.2', '10.0.0.1'] });
    assert.equal(outcome, 'created');
    const [top, next] = await rules();
    assert.equal(top?.comment, ruleComment('app.example.com'));
    assert.equal(Number(top?.enable), 1);
    assert.equal(String(top?.dport), '8080');
    assert.equal(top?.proto, 'tcp');
    assert.equal(top?.action, 'ACCEPT');
    assert.equal(top?.source, '10.0.0.1,10.0.0.2');
    assert.equal(next?.comment, 'ssh by hand');
  });

  it('leaves a matching rule alone', async () => {
    const outcome = await config.ensureServiceRule(guest, { fqdn: 'app.example.com', port: 8080, sources: ['10.0.0.1', '10.0.0.2'] });
    assert.equal(outcome, 'present');
    assert.equal((await rules()).length, 2);
  });

  it('replaces a rule with other sources', async () => {
    const outcome = await config.ensureServiceRule(guest, { fqdn: 'app.example.com', port: 8080, sources: ['10.0.0.3'] });
    assert.equal(outcome, 'replaced');
    const list = await rules();
    assert.equal(list.length, 2);
    assert.equal(list.find((rule) => rule.comment === ruleComment('app.example.com'))?.source, '10.0.0.3');
  });

  it('removes exactly its rule', async () => {
    await config.ensureServiceRule(guest, { fqdn: 'web.example.com', port: 9090, sources: ['10.0.0.3'] });
    assert.equal(await config.removeServiceRule(guest, 'app.example.com'), true);
    const comments = (await rules()).map((rule) => rule.comment);
    assert.deepEqual(comments, [ruleComment('web.example.com'), 'ssh by hand']);
    assert.equal(await config.removeServiceRule(guest, 'app.example.com'), false);
  });

  it('tags the guest keeping other tags', async () => {
    assert.equal(await config.setExposedTag(guest, true), true);
    assert.equal(await tags(), 'exposed;prod;web');
    assert.equal(await config.setExposedTag(guest, true), false);
  });

  it('removes only its tag', async () => {
    assert.equal(await config.setExposedTag(guest, false), true);
    assert.equal(await tags(), 'prod;web');
  });

  it('edits tag lists', () => {
    assert.deepEqual(editTags(['Exposed', 'a'], true), null);
    assert.deepEqual(editTags(['Exposed', 'a'], false), ['a']);
    assert.deepEqual(editTags([], true), ['exposed']);
    assert.deepEqual(editTags(['exposed'], false), []);
  });

  it('reports a missing privilege', async () => {
    const weakId = pve.addApiToken('weak@pve', 'daemon', TOKEN_SECRET, { privsep: false, privileges: { '/vms': ['VM.Audit'] } });
    const weak = new PveGuestConfig({ url: pve.url, tokenId: weakId, tokenSecretFile: join(dir, 'token'), logger: pino({ level: 'silent' }) });
    await assert.rejects(weak.setExposedTag(guest, true), /VM\.Config\.Options/);
  });
});
