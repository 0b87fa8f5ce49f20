#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runCli } from '../cli/main.js';
import { UsageError } from '../cli/errors.js';
import { promptSecret } from '../cli/prompt.js';

runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  secrets: {
    interactive: process.stdin.isTTY,
    prompt: (label) => promptSecret(label, process.stdin, process.stderr),
    readFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        throw new UsageError(`unable to read ${path}: ${(err as Error).message}`);
      }
    },
  },
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pve-domains: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
