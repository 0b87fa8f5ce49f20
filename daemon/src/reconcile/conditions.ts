import type { Condition } from '../store/model.js';

/**
 * Sets one condition on a list, keeping its time when neither status nor reason changed, so
 * that a retry that fails the same way does not look like a new event.
 */
export function setCondition(conditions: Condition[], next: Omit<Condition, 'time'>, now = new Date()): void {
  const index = conditions.findIndex((item) => item.type === next.type);
  const previous = index === -1 ? undefined : conditions[index];
  const unchanged = previous !== undefined && previous.status === next.status && previous.reason === next.reason;
  const condition: Condition = { ...next, time: unchanged ? previous.time : now.toISOString() };
  if (index === -1) conditions.push(condition);
  else conditions[index] = condition;
}

/**
 * Derives a service's summary status from its conditions. Services that use no certificate (plain
 * TCP and UDP forwards) are active without the certificate condition, which they never get.
 */
export function summariseStatus(conditions: Condition[], deleting: boolean, needsCertificate = true): 'active' | 'pending' | 'error' | 'deleting' {
  if (deleting) return 'deleting';
  if (conditions.some((item) => item.status === 'false')) return 'error';
  const types: Condition['type'][] = needsCertificate ? ['guest', 'dns', 'certificate', 'route'] : ['guest', 'dns', 'route'];
  if (types.every((type) => conditions.some((item) => item.type === type && item.status === 'true'))) return 'active';
  return 'pending';
}
