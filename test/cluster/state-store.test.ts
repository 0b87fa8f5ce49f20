import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { diffServices } from '../../daemon/src/cluster/change-poller.js';
import { AppError } from '../../daemon/src/errors.js';
import { emptyState, type StoredDomain, type StoredService } from '../../daemon/src/store/model.js';
import { findEntry } from '../../daemon/src/store/find-entry.js';
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

  describe('cost of a change', () => {
    let dir: PmxcfsStandIn;
    let store: StateStore;
    const stampOf = async (path: string): Promise<string> => {
      const info = await stat(join(dir.stateDir, path), { bigint: true });
      return `${info.ino}:${info.mtimeNs}`;
    };

    before(async () => {
      dir = await createPmxcfsStandIn();
      store = await StateStore.open(dir.stateDir);
      await store.update((state) => {
        state.domains.push(domain('one.example'), domain('two.example'));
        state.services.push(service('a.one.example', 'one.example'), service('b.one.example', 'one.example'), service('c.two.example', 'two.example'));
      });
    });

    after(async () => {
      await dir.remove();
    });

    it('shares unchanged objects, frozen', async () => {
      const before = store.snapshot();
      await store.update((state) => {
        const target = state.services.find((item) => item.fqdn === 'b.one.example');
        if (target !== undefined) target.port = 9090;
      });
      const now = store.snapshot();
      assert.notEqual(now, before);
      assert.equal(now.services[0], before.services[0]);
      assert.equal(now.services[2], before.services[2]);
      assert.equal(now.domains, before.domains);
      assert.notEqual(now.services[1], before.services[1]);
      assert.equal(now.services[1]?.port, 9090);
      assert.equal(before.services[1]?.port, 8080);
      assert.ok(Object.isFrozen(now.services[1]));
      assert.throws(() => {
        (now.services[1] as StoredService).port = 1;
      }, TypeError);
    });

    it('writes only the changed domain file', async () => {
      const untouched = await stampOf('domains/two.example.json');
      const cluster = await stampOf('cluster.json');
      const changed = await stampOf('domains/one.example.json');
      await store.update((state) => {
        const target = state.services.find((item) => item.fqdn === 'a.one.example');
        if (target !== undefined) target.port = 9191;
      });
      assert.equal(await stampOf('domains/two.example.json'), untouched);
      assert.equal(await stampOf('cluster.json'), cluster);
      assert.notEqual(await stampOf('domains/one.example.json'), changed);
      const written = JSON.parse(await readFile(join(dir.stateDir, 'domains', 'one.example.json'), 'utf8')) as { services: StoredService[] };
      assert.deepEqual(written.services.map((item) => [item.fqdn, item.port]), [['a.one.example', 9191], ['b.one.example', 9090]]);
    });

    it('returns draft objects as copies', async () => {
      const returned = await store.update((state) => {
        const target = state.services.find((item) => item.fqdn === 'c.two.example');
        if (target === undefined) throw new Error('c.two.example is missing');
        target.vmid = 202;
        return { service: target, count: state.services.length };
      });
      assert.equal(returned.service.vmid, 202);
      assert.equal(returned.count, 3);
      assert.ok(!Object.isFrozen(returned.service));
      returned.service.vmid = 1;
      assert.equal(store.snapshot().services.find((item) => item.fqdn === 'c.two.example')?.vmid, 202);
    });

    it('keeps a hand edit', async () => {
      const path = join(dir.stateDir, 'domains', 'one.example.json');
      const file = JSON.parse(await readFile(path, 'utf8')) as { services: StoredService[] };
      file.services.push(service('edited.one.example', 'one.example'));
      await writeFile(path, JSON.stringify(file));
      await store.update((state) => {
        const target = state.services.find((item) => item.fqdn === 'a.one.example');
        if (target !== undefined) target.port = 9292;
      });
      const written = JSON.parse(await readFile(path, 'utf8')) as { services: StoredService[] };
      assert.deepEqual(written.services.map((item) => item.fqdn).sort(), ['a.one.example', 'b.one.example', 'edited.one.example']);
      assert.equal(written.services.find((item) => item.fqdn === 'a.one.example')?.port, 9292);
    });

    it('finds entries the mutation moved', async () => {
      const found = await store.update((state) => {
        const before = findEntry(state.services, (item) => item.fqdn === 'b.one.example');
        state.services = state.services.filter((item) => item.fqdn !== 'a.one.example');
        const shifted = findEntry(state.services, (item) => item.fqdn === 'b.one.example');
        state.services.push(service('new.one.example', 'one.example'));
        const added = findEntry(state.services, (item) => item.fqdn === 'new.one.example');
        const removed = findEntry(state.services, (item) => item.fqdn === 'a.one.example');
        if (shifted !== undefined) shifted.port = 7070;
        throw Object.assign(new Error('discard'), { result: [before?.fqdn, shifted?.fqdn, added?.fqdn, removed] });
      }).catch((err: unknown) => (err as { result: unknown }).result);
      assert.deepEqual(found, ['b.one.example', 'b.one.example', 'new.one.example', undefined]);
      assert.equal(store.snapshot().services.find((item) => item.fqdn === 'b.one.example')?.port, 9090);
    });

    it('sees another node through generation', async () => {
      const other = await StateStore.open(dir.stateDir);
      await other.update((state) => {
        state.services.push(service('d.two.example', 'two.example'));
      });
      assert.equal(await store.refresh(), true);
      assert.ok(store.snapshot().services.some((item) => item.fqdn === 'd.two.example'));
      assert.equal(await store.refresh(), false);
    });
  });
});
