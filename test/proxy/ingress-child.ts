import { pino } from 'pino';

import { HaproxyIngress } from '../../daemon/src/proxy/haproxy.js';

/**
 * A stand-in daemon for the leftover-HAProxy test: starts an ingress on the directories and ports
 * given as a JSON argument, routes `kept.test`, reports its HAProxy PIDs as one JSON line on
 * stdout, then keeps changing routes until it is killed or has made `churnCount` changes.
 */

interface ChildSettings {
  configDir: string;
  runDir: string;
  httpPort: number;
  httpsPort: number;
  target: { address: string; port: number };
  churnCount: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as ChildSettings;
const ingress = new HaproxyIngress({
  binary: '/usr/sbin/haproxy',
  configDir: settings.configDir,
  runDir: settings.runDir,
  httpBind: { address: '127.0.0.1', port: settings.httpPort },
  httpsBind: { address: '127.0.0.1', port: settings.httpsPort },
  httpsRedirectPort: settings.httpsPort,
  logger: pino({ level: 'silent' }),
  stopGraceMs: 3000,
});

await ingress.start();
await ingress.setRoute({ hostname: 'kept.test', targets: [settings.target] });
process.stdout.write(`${JSON.stringify({ pid: ingress.pid, workers: ingress.workerPids })}\n`);
for (let index = 0; index < settings.churnCount; index++) {
  await ingress.setRoute({ hostname: `churn-${index % 20}.test`, targets: [settings.target] });
  await new Promise((resolve) => setTimeout(resolve, 5));
}
await ingress.stop();
