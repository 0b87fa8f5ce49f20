#!/usr/bin/env node
import { runCli } from '../cli/main.js';

runCli(
  process.argv.slice(2),
  (text) => process.stdout.write(`${text}\n`),
  (text) => process.stderr.write(`${text}\n`),
).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pve-domains: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
