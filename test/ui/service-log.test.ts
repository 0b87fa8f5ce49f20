import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServiceEvent } from '../../daemon/src/api/service-log.js';
import { startSecuredApi, storeDomain, storeService, ticketHeaders, userSession, type SecuredApi, type Session } from '../api/fixtures.js';

/** The route behind the Expose Service tab's log view: a service's recent events, newest first. */
describe('service log route', () => {
  let api: SecuredApi;
  let auditor: Session;
  let stranger: Session;
  let fqdn: string;

  before(async () => {
    api = await startSecuredApi();
    await storeDomain(api, 'example.com');
    fqdn = await storeService(api, 'app', 'example.com', 101);
    await storeService(api, 'other', 'example.com', 102);
    await api.state.update((document) => {
      const service = document.services.find((item) => item.fqdn === fqdn);
      if (service === undefined) throw new Error('the stored service is missing');
      service.conditions = [
        { type: 'dns', status: 'true', reason: 'RecordsPresent', message: 'app.example.com points at 192.0.2.1', time: '2026-12-01T10:00:00.000Z' },
        { type: 'certificate', status: 'false', reason: 'OrderFailed', message: 'the CA refused the order', time: '2026-12-01T10:05:00.000Z' },
      ];
      service.retry = { failures: 2, nextAttemptAt: '2026-12-01T10:06:00.000Z', lastError: 'the CA refused the order' };
    });
    await api.audit.append({ time: '2026-12-01T09:59:00.000Z', user: 'admin@pve', action: 'service.create', object: fqdn, result: 'ok', status: 200 });
    await api.audit.append({ time: '2026-12-01T10:01:00.000Z', user: 'admin@pve', action: 'service.create', object: 'other.example.com', result: 'ok', status: 200 });
    auditor = await userSession(api.pve, 'auditor@pve', { '/vms/101': ['VM.Audit'] });
    stranger = await userSession(api.pve, 'stranger@pve', { '/vms/102': ['VM.Audit'] });
  });

  after(async () => {
    await api.stop();
  });

  it('lists events newest first', async () => {
    const answer = await api.app.inject({ method: 'GET', url: `/api2/json/services/${fqdn}/log`, headers: ticketHeaders(auditor, false) });
    assert.equal(answer.statusCode, 200, answer.body);
    const events = answer.json<{ data: ServiceEvent[] }>().data;
    assert.deepEqual(
      events.map((event) => [event.source, event.subject, event.level]),
      [
        ['retry', 'retry', 'warning'],
        ['condition', 'certificate', 'error'],
        ['condition', 'dns', 'info'],
        ['audit', 'service.create', 'info'],
      ],
    );
    assert.equal(events[3]?.user, 'admin@pve');
    assert.match(events[1]?.message ?? '', /OrderFailed: the CA refused the order/);
  });

  it('honours the limit', async () => {
    const answer = await api.app.inject({ method: 'GET', url: `/api2/json/services/${fqdn}/log?limit=1`, headers: ticketHeaders(auditor, false) });
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.json<{ data: ServiceEvent[] }>().data.length, 1);
  });

  it('needs VM.Audit on the guest', async () => {
    const answer = await api.app.inject({ method: 'GET', url: `/api2/json/services/${fqdn}/log`, headers: ticketHeaders(stranger, false) });
    assert.equal(answer.statusCode, 403);
  });

  it('answers 404 for an unknown service', async () => {
    const answer = await api.app.inject({ method: 'GET', url: '/api2/json/services/missing.example.com/log', headers: ticketHeaders(auditor, false) });
    assert.equal(answer.statusCode, 404);
  });
});
