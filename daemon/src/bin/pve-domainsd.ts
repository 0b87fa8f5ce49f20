#!/usr/bin/env node
import { defaultConfigPath, loadConfig } from '../config.js';
import { startDaemon } from '../daemon.js';
import { errorMessage } from '../errors.js';
import { createLogger } from '../log.js';

const usage = `usage: pve-domainsd [--config FILE]

Runs the pve-external-domains daemon in the foreground.

  --config FILE   settings file (default: $PVE_DOMAINS_CONFIG, else ${defaultConfigPath})
  --help          print this text`;

const logger = createLogger();

class UsageError extends Error {}

function configPath(argv: string[]): string {
  let path = process.env['PVE_DOMAINS_CONFIG'] ?? defaultConfigPath;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--config') {
      const value = argv[++index];
      if (value === undefined || value.startsWith('--')) throw new UsageError('--config needs a file path');
      path = value;
    } else if (argument?.startsWith('--config=') === true) {
      path = argument.slice('--config='.length);
    } else {
      throw new UsageError(`unknown argument "${argument ?? ''}"`);
    }
  }
  return path;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const path = configPath(argv);
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
  // One plain line for the admin at the terminal (and in `systemctl status`), then the details
  // for the journal.
  process.stderr.write(`pve-domainsd: ${errorMessage(err)}\n`);
  if (err instanceof UsageError) {
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
  logger.fatal({ err }, 'pve-domainsd failed to start');
  process.exit(1);
});
