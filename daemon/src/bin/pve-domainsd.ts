#!/usr/bin/env node
import { defaultConfigPath, loadConfig } from '../config.js';
import { startDaemon } from '../daemon.js';
import { createLogger } from '../log.js';

const logger = createLogger();

function configPath(argv: string[]): string {
  const index = argv.indexOf('--config');
  if (index !== -1) {
    const value = argv[index + 1];
    if (value === undefined) throw new Error('--config needs a file path');
    return value;
  }
  return process.env['PVE_DOMAINS_CONFIG'] ?? defaultConfigPath;
}

async function main(): Promise<void> {
  const path = configPath(process.argv.slice(2));
  const config = loadConfig(path);
  logger.info({ config_file: path, cluster: config.clusterName }, 'pve-domainsd starting');
  const daemon = await startDaemon(config, logger);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'pve-domainsd failed to start');
  process.exit(1);
});
