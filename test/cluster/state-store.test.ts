import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { diffServices } from '../../daemon/src/cluster/change-poller.js';
import { AppError } from '../../daemon/src/errors.js';
import { emptyState, type StoredDomain, type StoredService } from '../../daemon/src/store/model.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { createPmxcfsStandIn, type PmxcfsStandIn } from '../sandbox/pmxcfs/index.js';

function domain(name: string): StoredDomain {
  return { name, acmeDirectory: 'https://acme.test/dir', acmeEmail: 'admin@example.com', createdAt: '2025-01-01T00:00:00.000Z' };
}

function service(fqdn: string, domainName: string, vmid = 101): StoredService {
  return {
    fqdn,
    subdomain: fqdn.split('.')[0] ?? '',
    domain: domainName,
    vmid,
    port: 8080,
    createdAt: '2025-01-01T00:00:00.000Z',
    deleting: false,
    conditions: [],
    observed: { target: null },
    retry: { failures: 0, nextAttemptAt: null, lastError: null },
  };
}

describe('state store on pmxcfs', () => {
  let standIn: PmxcfsStandIn;

  before(async () => {
    standIn = await createPmxcfsStandIn();
  });

  after(async () => {
    await standIn.remove();
  });

  it('splits the state by domain', async () => {
    const store = await StateStore.open(standIn.stateDir);
    await store.update((state) => {
      state.domains.push(domain('example.com'), domain('example.org'));
      state.services.push(service('app.example.com', 'example.com'), service('www.example.org', 'example.org'));
    });
    const files = (await readdir(join(standIn.stateDir, 'domains'))).sort();
    assert.deepEqual(files, ['example.com.json', 'example.org.json']);
    const com = JSON.parse(await readFile(join(standIn.stateDir, 'domains', 'example.com.json'), 'utf8')) as { services: StoredService[] };
    assert.deepEqual(com.services.map((item) => item.fqdn), ['app.example.com']);
    const cluster = JSON.parse(await readFile(join(standIn.stateDir, 'cluster.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cluster['services'], undefined);
  });

  it('reloads the document from the files', async () => {
    const reopened = await StateStore.open(standIn.stateDir);
    const state = reopened.snapshot();
    assert.deepEqual(state.domains.map((item) => item.name), ['example.com', 'example.org']);
    assert.equal(state.services.length, 2);
  });

  it('removes the file of a deleted domain', async () => {
    const store = await StateStore.open(standIn.stateDir);
    await store.update((state) => {
      state.domains = state.domains.filter((item) => item.name !== 'example.org');
      state.services = state.services.filter((item) => item.domain !== 'example.org');
    });
    assert.deepEqual(await readdir(join(standIn.stateDir, 'domains')), ['example.com.json']);
  });

  it('skips writes that change nothing', async () => {
    const store = await StateStore.open(standIn.stateDir);
    const path = join(standIn.stateDir, 'domains', 'example.com.json');
    const before = (await stat(path)).mtimeMs;
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    await store.update((state) => {
      const current = state.services[0];
      if (current !== undefined) current.port = 8080;
    });
    assert.equal((await stat(path)).mtimeMs, before);
  });

  it('rejects a file over 1 MiB', async () => {
    const store = await StateStore.open(standIn.stateDir);
    const big = 'x'.repeat(1024 * 1024);
    await assert.rejects(
      store.update((state) => {
        const current = state.services[0];
        if (current !== undefined) current.retry.lastError = big;
      }),
      (err: unknown) => err instanceof AppError && err.code === 'STATE_TOO_LARGE' && /example\.com\.json would grow to \d+ bytes/.test(err.message),
    );
    assert.equal(store.snapshot().services[0]?.retry.lastError, null);
    assert.deepEqual(await standIn.violations(), []);
  });

  it('shares changes between two nodes', async () => {
    const nodeA = await StateStore.open(standIn.stateDir);
    const nodeB = await StateStore.open(standIn.stateDir);
    await nodeA.update((state) => {
      state.services.push(service('b.example.com', 'example.com'));
    });
    const before = nodeB.snapshot();
    assert.equal(await nodeB.refresh(), true);
    const changes = diffServices(before, nodeB.snapshot());
    assert.deepEqual(changes.changed, ['b.example.com']);
    assert.deepEqual(changes.removed, []);
  });

  it('keeps concurrent writes of two nodes', async () => {
    const nodeA = await StateStore.open(standIn.stateDir);
    const nodeB = await StateStore.open(standIn.stateDir);
    await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => nodeA.update((state) => void state.services.push(service(`a${i}.example.com`, 'example.com')))),
      ...Array.from({ length: 5 }, (_, i) => nodeB.update((state) => void state.services.push(service(`b${i}.example.com`, 'example.com')))),
    ]);
    const check = await StateStore.open(standIn.stateDir);
    const names = check.snapshot().services.map((item) => item.fqdn);
    for (let i = 0; i < 5; i += 1) {
      assert.ok(names.includes(`a${i}.example.com`), `a${i} missing`);
      assert.ok(names.includes(`b${i}.example.com`), `b${i} missing`);
    }
  });

  it('rejects writes without quorum', async () => {
    const store = await StateStore.open(standIn.stateDir);
    await standIn.setQuorate(false);
    try {
      await assert.rejects(
        store.update((state) => void state.services.push(service('late.example.com', 'example.com'))),
        (err: unknown) => err instanceof AppError && err.code === 'CLUSTER_NOT_QUORATE' && err.status === 503 && /cluster not quorate/.test(err.message),
      );
      const unchanged = await store.update((state) => state.services.length);
      assert.ok(unchanged > 0);
    } finally {
      await standIn.setQuorate(true);
    }
    await store.update((state) => void state.services.push(service('late.example.com', 'example.com')));
    assert.ok(store.snapshot().services.some((item) => item.fqdn === 'late.example.com'));
  });

  it('migrates a single state.json', async () => {
    const legacy = await createPmxcfsStandIn();
    try {
      const document = { ...emptyState(), domains: [domain('example.net')], services: [service('old.example.net', 'example.net')] };
      await writeFile(join(legacy.stateDir, 'state.json'), JSON.stringify(document));
      const store = await StateStore.open(legacy.stateDir);
      assert.deepEqual(store.snapshot().services.map((item) => item.fqdn), ['old.example.net']);
      const files = (await readdir(legacy.stateDir)).sort();
      assert.ok(files.includes('state.json.pre-split.bak'));
      assert.ok(!files.includes('state.json'));
      assert.deepEqual(await readdir(join(legacy.stateDir, 'domains')), ['example.net.json']);
    } finally {
      await legacy.remove();
    }
  });

  it('rejects an unknown layout format', async () => {
    const odd = await createPmxcfsStandIn();
    try {
      await writeFile(join(odd.stateDir, 'cluster.json'), JSON.stringify({ format: 9 }));
      await assert.rejects(StateStore.open(odd.stateDir), (err: unknown) => err instanceof AppError && /layout format 9/.test(err.message));
    } finally {
      await rm(odd.root, { recursive: true, force: true });
    }
  });
});
