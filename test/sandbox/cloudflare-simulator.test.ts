import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Cloudflare, {
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'cloudflare';
import { startCloudflareSimulator, type CloudflareSimulator, type SimZone } from './cloudflare/index.js';

// A fixed API version keeps the SDK's `api-version` header stable between days.
const API_VERSION = '2026-12-04';

/** Builds a 40-character legacy token that starts with `label`. */
function token(label: string): string {
  return label.padEnd(40, 'x');
}

const FULL_TOKEN = token('full-');
const SCOPED_TOKEN = token('scoped-');
const READ_ONLY_TOKEN = token('readonly-');
const NO_PERMISSION_TOKEN = token('none-');
const DISABLED_TOKEN = token('disabled-');
const UNKNOWN_TOKEN = token('unknown-');
const ACCOUNT_TOKEN = `cfat_${'A1'.repeat(20)}`;
const GLOBAL_EMAIL = 'owner@example.test';
const GLOBAL_KEY = '0123456789abcdef0123456789abcdef01234';

function clientFor(sim: CloudflareSimulator, apiToken: string): Cloudflare {
  return new Cloudflare({ apiToken, apiKey: null, apiEmail: null, baseURL: sim.apiBaseUrl, apiVersion: API_VERSION, maxRetries: 0 });
}

function keyClient(sim: CloudflareSimulator, apiEmail: string, apiKey: string): Cloudflare {
  return new Cloudflare({ apiToken: null, apiKey, apiEmail, baseURL: sim.apiBaseUrl, apiVersion: API_VERSION, maxRetries: 0 });
}

/** Awaits a call that must fail and returns the SDK error. */
async function failure(call: Promise<unknown>): Promise<APIError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof APIError) return error;
    throw error;
  }
  throw new assert.AssertionError({ message: 'expected the call to fail with an APIError' });
}

function firstError(error: APIError): { code?: number; message?: string; error_chain?: Array<{ code: number }> } {
  const body = error.error as { errors?: Array<{ code?: number; message?: string; error_chain?: Array<{ code: number }> }> };
  return body.errors?.[0] ?? {};
}

describe('cloudflare simulator API', () => {
  let sim: CloudflareSimulator;
  let cf: Cloudflare;
  let zone: SimZone;
  let proZone: SimZone;
  let otherZone: SimZone;

  before(async () => {
    sim = await startCloudflareSimulator();
    zone = sim.addZone('example.test');
    proZone = sim.addZone('pro.test', { plan: 'pro' });
    otherZone = sim.addZone('other.test');
    sim.addZone('pending.test', { status: 'pending' });
    sim.addToken(FULL_TOKEN, { zones: 'all', permissions: ['zone:read', 'dns_records:edit'] });
    sim.addToken(SCOPED_TOKEN, { zones: ['example.test'], permissions: ['zone:read', 'dns_records:edit'] });
    sim.addToken(READ_ONLY_TOKEN, { zones: 'all', permissions: ['zone:read', 'dns_records:read'] });
    sim.addToken(NO_PERMISSION_TOKEN, { zones: 'all', permissions: [] });
    sim.addToken(DISABLED_TOKEN, { zones: 'all', permissions: ['zone:read'], status: 'disabled' });
    sim.addToken(ACCOUNT_TOKEN, { zones: 'all', permissions: ['zone:read'] });
    sim.addGlobalKey(GLOBAL_EMAIL, GLOBAL_KEY);
    cf = clientFor(sim, FULL_TOKEN);
  });

  after(async () => {
    await sim.stop();
  });

  describe('auth', () => {
    test('verify returns active token', async () => {
      const result = await cf.user.tokens.verify();
      assert.equal(result.status, 'active');
      assert.match(result.id, /^[0-9a-f]{32}$/);
    });

    test('verify body has message 10000', async () => {
      const response = await fetch(`${sim.apiBaseUrl}/user/tokens/verify`, { headers: { authorization: `Bearer ${FULL_TOKEN}` } });
      const body = (await response.json()) as { success: boolean; messages: unknown[] };
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.equal(body.success, true);
      assert.deepEqual(body.messages, [{ code: 10000, message: 'This API Token is valid and active', type: null }]);
    });

    test('verify reports disabled token', async () => {
      const result = await clientFor(sim, DISABLED_TOKEN).user.tokens.verify();
      assert.equal(result.status, 'disabled');
    });

    test('verify rejects unknown token', async () => {
      const error = await failure(clientFor(sim, UNKNOWN_TOKEN).user.tokens.verify());
      assert.ok(error instanceof AuthenticationError);
      assert.equal(error.status, 401);
      assert.equal(error.errors[0]?.code, 1000);
    });

    test('account token verifies on account path', async () => {
      const client = clientFor(sim, ACCOUNT_TOKEN);
      const result = await client.accounts.tokens.verify({ account_id: sim.accountId });
      assert.equal(result.status, 'active');
      const error = await failure(client.user.tokens.verify());
      assert.equal(error.status, 401);
    });

    test('missing headers give 9106', async () => {
      const client = new Cloudflare({ apiToken: null, apiKey: null, apiEmail: null, baseURL: sim.apiBaseUrl, apiVersion: API_VERSION, maxRetries: 0 });
      const error = await failure(client.zones.list());
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.errors[0]?.code, 9106);
    });

    test('malformed token gives 6003/6111', async () => {
      const error = await failure(clientFor(sim, 'too-short').zones.list());
      assert.ok(error instanceof BadRequestError);
      assert.equal(firstError(error).code, 6003);
      assert.equal(firstError(error).error_chain?.[0]?.code, 6111);
    });

    test('token sent as key gives 6103', async () => {
      const error = await failure(keyClient(sim, GLOBAL_EMAIL, FULL_TOKEN).zones.list());
      assert.equal(error.status, 400);
      assert.equal(firstError(error).code, 6003);
      assert.deepEqual(firstError(error).error_chain?.map((item) => item.code), [6103]);
    });

    test('bad email and key give 6102 and 6103', async () => {
      const error = await failure(keyClient(sim, 'not-an-email', 'nope').zones.list());
      assert.deepEqual(firstError(error).error_chain?.map((item) => item.code), [6102, 6103]);
    });

    test('unknown global key gives 9103', async () => {
      const error = await failure(keyClient(sim, GLOBAL_EMAIL, 'f'.repeat(37)).zones.list());
      assert.ok(error instanceof PermissionDeniedError);
      assert.equal(error.errors[0]?.code, 9103);
    });

    test('global key lists every zone', async () => {
      const page = await keyClient(sim, GLOBAL_EMAIL, GLOBAL_KEY).zones.list();
      assert.equal(page.result.length, 4);
    });

    test('unknown token outside verify gives 9109', async () => {
      const error = await failure(clientFor(sim, UNKNOWN_TOKEN).zones.list());
      assert.equal(error.status, 403);
      assert.equal(error.errors[0]?.code, 9109);
    });

    test('token without permissions gives 10000', async () => {
      const error = await failure(clientFor(sim, NO_PERMISSION_TOKEN).zones.list());
      assert.ok(error instanceof PermissionDeniedError);
      assert.equal(error.errors[0]?.code, 10000);
      assert.equal(error.errors[0]?.message, 'Authentication error');
    });

    test('read-only token cannot create', async () => {
      const call = clientFor(sim, READ_ONLY_TOKEN).dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'ro', content: 'x', ttl: 1 });
      const error = await failure(call);
      assert.equal(error.status, 403);
      assert.equal(error.errors[0]?.code, 10000);
    });

    test('request log keeps no secrets', async () => {
      await cf.zones.list();
      const logged = JSON.stringify(sim.requestLog);
      assert.ok(!logged.includes(FULL_TOKEN));
      assert.ok(!logged.includes(GLOBAL_KEY));
      assert.equal(sim.requestLog.at(-1)?.authScheme, 'bearer');
      assert.equal(sim.requestLog.at(-1)?.path, '/client/v4/zones');
      assert.equal(sim.requestLog.at(-1)?.status, 200);
    });
  });

  describe('zones', () => {
    test('list by exact name', async () => {
      const page = await cf.zones.list({ name: 'example.test' });
      assert.equal(page.result.length, 1);
      assert.equal(page.result[0]?.id, zone.id);
    });

    test('zone has the real fields', async () => {
      const found = await cf.zones.get({ zone_id: zone.id });
      assert.match(found.id, /^[0-9a-f]{32}$/);
      assert.equal(found.status, 'active');
      assert.equal(found.type, 'full');
      assert.deepEqual(found.name_servers, sim.nameServers);
      assert.equal(found.plan.legacy_id, 'free');
      assert.equal(found.account.id, sim.accountId);
      assert.equal(found.original_registrar, null);
      assert.equal(found.development_mode, 0);
      assert.equal(found.paused, false);
    });

    test('name operators filter', async () => {
      const starts = await cf.zones.list({ name: 'starts_with:pro' });
      const ends = await cf.zones.list({ name: 'ends_with:er.test' });
      const contains = await cf.zones.list({ name: 'contains:ending' });
      assert.deepEqual(starts.result.map((z) => z.name), ['pro.test']);
      assert.deepEqual(ends.result.map((z) => z.name), ['other.test']);
      assert.deepEqual(contains.result.map((z) => z.name), ['pending.test']);
    });

    test('status filter and order', async () => {
      const pending = await cf.zones.list({ status: 'pending' });
      const ordered = await cf.zones.list({ order: 'name', direction: 'desc' });
      assert.deepEqual(pending.result.map((z) => z.name), ['pending.test']);
      assert.deepEqual(ordered.result.map((z) => z.name), ['pro.test', 'pending.test', 'other.test', 'example.test']);
    });

    test('per_page out of range is 400', async () => {
      const tooLarge = await failure(cf.zones.list({ per_page: 100 }));
      const tooSmall = await failure(cf.zones.list({ per_page: 2 }));
      assert.equal(tooLarge.status, 400);
      assert.equal(tooSmall.status, 400);
    });

    test('page past the end is empty', async () => {
      const page = await cf.zones.list({ page: 9, per_page: 5 });
      assert.deepEqual(page.result, []);
      assert.equal(page.result_info.page, 9);
    });

    test('result_info counts', async () => {
      const response = await fetch(`${sim.apiBaseUrl}/zones?per_page=5`, { headers: { authorization: `Bearer ${FULL_TOKEN}` } });
      const body = (await response.json()) as { result_info: unknown };
      assert.deepEqual(body.result_info, { page: 1, per_page: 5, count: 4, total_count: 4, total_pages: 1 });
    });

    test('scoped token sees its zone only', async () => {
      const page = await clientFor(sim, SCOPED_TOKEN).zones.list();
      assert.deepEqual(page.result.map((z) => z.name), ['example.test']);
    });

    test('scoped token gets 10000 elsewhere', async () => {
      const error = await failure(clientFor(sim, SCOPED_TOKEN).zones.get({ zone_id: otherZone.id }));
      assert.equal(error.status, 403);
      assert.equal(error.errors[0]?.code, 10000);
    });

    test('malformed zone id gives 7003', async () => {
      const error = await failure(cf.zones.get({ zone_id: 'example.test' }));
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.errors[0]?.code, 7003);
      assert.equal(
        error.errors[0]?.message,
        'Could not route to /client/v4/zones/example.test, perhaps your object identifier is invalid?',
      );
    });

    test('for-await walks all zone pages', async () => {
      const before = sim.requestLog.length;
      const names: string[] = [];
      for await (const found of cf.zones.list({ per_page: 5 })) names.push(found.name);
      assert.equal(names.length, 4);
      // One page of results and the empty page that ends the SDK's loop.
      assert.equal(sim.requestLog.length - before, 2);
    });
  });

  describe('records', () => {
    test('create, list, edit and delete', async () => {
      const created = await cf.dns.records.create({
        zone_id: zone.id,
        type: 'TXT',
        name: '_acme-challenge.app',
        content: 'token-value',
        ttl: 120,
        comment: 'pve-domains:cluster1:app',
      });
      assert.equal(created.name, '_acme-challenge.app.example.test');
      assert.equal(created.comment, 'pve-domains:cluster1:app');
      assert.equal(created.ttl, 120);
      assert.equal(created.proxiable, false);
      assert.ok(!('zone_id' in created));
      assert.ok(!('zone_name' in created));
      assert.ok(!('locked' in created));

      const listed = await cf.dns.records.list({
        zone_id: zone.id,
        type: 'TXT',
        name: { exact: '_acme-challenge.app.example.test' },
        comment: { startswith: 'pve-domains:' },
      });
      assert.deepEqual(listed.result.map((record) => record.id), [created.id]);

      const edited = await cf.dns.records.edit(created.id, {
        zone_id: zone.id,
        type: 'TXT',
        name: '_acme-challenge.app.example.test',
        ttl: 120,
        content: 'second-value',
      });
      assert.equal(edited.content, 'second-value');
      assert.equal(edited.comment, 'pve-domains:cluster1:app');

      const fetched = await cf.dns.records.get(created.id, { zone_id: zone.id });
      assert.equal(fetched.content, 'second-value');

      const deleted = await cf.dns.records.delete(created.id, { zone_id: zone.id });
      assert.deepEqual(deleted, { id: created.id });

      const missing = await failure(cf.dns.records.get(created.id, { zone_id: zone.id }));
      assert.equal(missing.status, 404);
      assert.equal(missing.errors[0]?.code, 81044);
    });

    test('identical record gives 81058', async () => {
      const body = { zone_id: zone.id, type: 'TXT' as const, name: 'dup', content: 'same', ttl: 1 as const };
      await cf.dns.records.create(body);
      const error = await failure(cf.dns.records.create(body));
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.errors[0]?.code, 81058);
      assert.equal(error.errors[0]?.message, 'An identical record already exists.');
    });

    test('same name other value is fine', async () => {
      await cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'multi', content: 'one', ttl: 1 });
      await cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'multi', content: 'two', ttl: 1 });
      assert.equal(sim.records('example.test').filter((record) => record.name === 'multi.example.test').length, 2);
    });

    test('long comment gives 9313 on free', async () => {
      const error = await failure(
        cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'c', content: 'x', ttl: 1, comment: 'a'.repeat(101) }),
      );
      assert.equal(error.status, 400);
      assert.equal(error.errors[0]?.code, 9313);
      assert.equal(error.errors[0]?.message, 'DNS record comment exceeds the maximum length of 100 characters.');
    });

    test('paid zone allows 500-char comment', async () => {
      const created = await cf.dns.records.create({ zone_id: proZone.id, type: 'TXT', name: 'c', content: 'x', ttl: 1, comment: 'a'.repeat(500) });
      const error = await failure(
        cf.dns.records.create({ zone_id: proZone.id, type: 'TXT', name: 'c2', content: 'x', ttl: 1, comment: 'a'.repeat(501) }),
      );
      assert.equal(created.comment?.length, 500);
      assert.equal(error.errors[0]?.code, 9313);
    });

    test('comment with newline is rejected', async () => {
      const error = await failure(
        cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'nl', content: 'x', ttl: 1, comment: 'a\nb' }),
      );
      assert.equal(error.status, 400);
    });

    test('tags on free give 9300', async () => {
      const error = await failure(
        cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 't', content: 'x', ttl: 1, tags: ['owner:pve'] }),
      );
      assert.equal(error.errors[0]?.code, 9300);
      assert.equal(error.errors[0]?.message, 'DNS record has 1 tags, exceeding the quota of 0.');
    });

    test('bad TTL gives 9021', async () => {
      const error = await failure(cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'ttl', content: 'x', ttl: 30 }));
      assert.equal(error.errors[0]?.code, 9021);
    });

    test('proxied TXT gives 9004', async () => {
      const error = await failure(
        cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'px', content: 'x', ttl: 1, proxied: true }),
      );
      assert.equal(error.errors[0]?.code, 9004);
    });

    test('CNAME conflicts give 81053 and 81054', async () => {
      await cf.dns.records.create({ zone_id: zone.id, type: 'A', name: 'host', content: '192.0.2.1', ttl: 1 });
      const overAddress = await failure(
        cf.dns.records.create({ zone_id: zone.id, type: 'CNAME', name: 'host', content: 'target.example.test', ttl: 1 }),
      );
      await cf.dns.records.create({ zone_id: zone.id, type: 'CNAME', name: 'alias', content: 'host.example.test', ttl: 1 });
      const overCname = await failure(cf.dns.records.create({ zone_id: zone.id, type: 'AAAA', name: 'alias', content: '2001:db8::1', ttl: 1 }));
      assert.equal(overAddress.errors[0]?.code, 81053);
      assert.equal(overCname.errors[0]?.code, 81054);
    });

    test('names and contents are normalised', async () => {
      const apex = await cf.dns.records.create({ zone_id: zone.id, type: 'AAAA', name: '@', content: '2001:DB8:0:0:0:0:0:1', ttl: 1 });
      const upper = await cf.dns.records.create({ zone_id: zone.id, type: 'A', name: 'WWW.Example.Test.', content: '192.0.2.7', ttl: 1 });
      const unicode = await cf.dns.records.create({ zone_id: zone.id, type: 'A', name: 'bücher', content: '192.0.2.8', ttl: 1 });
      const quoted = await cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'q', content: '"v=spf1 -all"', ttl: 1 });
      assert.equal(apex.name, 'example.test');
      assert.equal(apex.content, '2001:db8::1');
      assert.equal(upper.name, 'www.example.test');
      assert.equal(unicode.name, 'xn--bcher-kva.example.test');
      assert.equal(quoted.content, '"v=spf1 -all"');
    });

    test('invalid A content is rejected', async () => {
      const error = await failure(cf.dns.records.create({ zone_id: zone.id, type: 'A', name: 'bad', content: '1.1', ttl: 1 }));
      assert.equal(error.status, 400);
    });

    test('PUT resets omitted fields', async () => {
      const created = await cf.dns.records.create({ zone_id: zone.id, type: 'A', name: 'put', content: '192.0.2.9', ttl: 1, proxied: true, comment: 'keep?' });
      const replaced = await cf.dns.records.update(created.id, { zone_id: zone.id, type: 'A', name: 'put', content: '192.0.2.10', ttl: 300 });
      assert.equal(replaced.proxied, false);
      assert.equal(replaced.comment, null);
      assert.equal(replaced.ttl, 300);
    });

    test('malformed record id gives 7003', async () => {
      const error = await failure(cf.dns.records.get('nope', { zone_id: zone.id }));
      assert.equal(error.status, 404);
      assert.equal(error.errors[0]?.code, 7003);
    });

    test('scoped token cannot touch other zone', async () => {
      const call = clientFor(sim, SCOPED_TOKEN).dns.records.create({ zone_id: otherZone.id, type: 'TXT', name: 'x', content: 'x', ttl: 1 });
      const error = await failure(call);
      assert.equal(error.status, 403);
      assert.equal(error.errors[0]?.code, 10000);
    });

    test('for-await walks record pages', async () => {
      const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
      for (const name of names) sim.addRecord('other.test', { type: 'TXT', name, content: `v-${name}` });
      const before = sim.requestLog.length;
      const seen: string[] = [];
      for await (const record of cf.dns.records.list({ zone_id: otherZone.id, per_page: 2, order: 'name' })) seen.push(record.name);
      assert.deepEqual(seen, names.map((name) => `${name}.other.test`));
      assert.equal(sim.requestLog.length - before, 4);
    });

    test('batch applies all operations', async () => {
      const first = await cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'batch', content: 'old', ttl: 1 });
      const result = await cf.dns.records.batch({
        zone_id: zone.id,
        deletes: [{ id: first.id }],
        posts: [{ type: 'TXT', name: 'batch', content: 'new', ttl: 1 }],
      });
      assert.equal(result.deletes?.[0]?.id, first.id);
      assert.equal(result.posts?.[0]?.content, 'new');
      assert.deepEqual(
        sim.records('example.test').filter((record) => record.name === 'batch.example.test').map((record) => record.content),
        ['new'],
      );
    });

    test('failed batch applies nothing', async () => {
      const keptRecord = await cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'atomic', content: 'kept', ttl: 1 });
      const error = await failure(
        cf.dns.records.batch({
          zone_id: zone.id,
          deletes: [{ id: keptRecord.id }],
          posts: [{ type: 'TXT', name: 'atomic', content: 'x', ttl: 30 }],
        }),
      );
      assert.equal(error.errors[0]?.code, 9021);
      assert.ok(sim.records('example.test').some((record) => record.id === keptRecord.id));
    });

    test('quota gives 81045 at 200 records', async () => {
      const quotaZone = sim.addZone('quota.test');
      for (let index = 0; index < 200; index += 1) sim.addRecord('quota.test', { type: 'TXT', name: `r${index}`, content: 'x' });
      const error = await failure(cf.dns.records.create({ zone_id: quotaZone.id, type: 'TXT', name: 'one-more', content: 'x', ttl: 1 }));
      assert.equal(error.errors[0]?.code, 81045);
    });
  });

  describe('faults', () => {
    test('injected fault answers once', async () => {
      sim.injectFault({ match: (request) => request.method === 'GET' && request.path.endsWith('/zones'), status: 503 });
      const error = await failure(cf.zones.list());
      const page = await cf.zones.list();
      assert.ok(error instanceof InternalServerError);
      assert.ok(page.result.length > 0);
    });
  });
});

describe('cloudflare simulator rate limit', () => {
  let sim: CloudflareSimulator;

  before(async () => {
    sim = await startCloudflareSimulator({ rateLimit: { requests: 3, windowMs: 60_000, retryAfterSeconds: 2 } });
    sim.addToken(FULL_TOKEN, { zones: 'all', permissions: ['zone:read'] });
  });

  after(async () => {
    await sim.stop();
  });

  test('fourth request gets 429', async () => {
    const cf = clientFor(sim, FULL_TOKEN);
    for (let index = 0; index < 3; index += 1) await cf.zones.list();
    const error = await failure(cf.zones.list());
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.errors[0]?.code, 10429);
    assert.equal(error.headers?.get('retry-after'), '2');
  });

  test('limit is per credential', async () => {
    sim.addToken(SCOPED_TOKEN, { zones: 'all', permissions: ['zone:read'] });
    const page = await clientFor(sim, SCOPED_TOKEN).zones.list();
    assert.deepEqual(page.result, []);
  });
});
