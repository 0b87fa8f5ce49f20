import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OpenApiDocument } from '../../daemon/src/api/openapi.js';
import { apiVerbs, cliParameters, methodOfVerb, operationOf, verbsOf } from '../../daemon/src/cli/api-schema.js';
import { globalOptionNames } from '../../daemon/src/cli/arguments.js';
import { usageText } from '../../daemon/src/cli/usage.js';
import { run } from '../../scripts/package-process.js';
import { apiSchemaInProcess, renderBashCompletion, renderManPage } from '../../scripts/cli-docs.js';

/** Usage text, man page and bash completion, all generated from the API schema of an in-process daemon. */
describe('generated CLI documentation', () => {
  let document: OpenApiDocument;
  let dir: string;
  let manFile: string;
  let completionFile: string;

  /** Runs the completion function for `words` (the cursor on the last word) and returns the candidates. */
  const complete = async (words: string[], path = '/usr/bin:/bin'): Promise<string[]> => {
    const quoted = words.map((word) => `'${word}'`).join(' ');
    const script = `source ${completionFile}; COMP_WORDS=(pve-domains ${quoted}); COMP_CWORD=${words.length}; _pve_domains; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const result = await run('bash', ['-c', script], { env: { PATH: path } });
    return result.stdout.split('\n').filter((line) => line !== '');
  };

  before(async () => {
    document = await apiSchemaInProcess();
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-cli-docs-'));
    manFile = join(dir, 'pve-domains.1');
    completionFile = join(dir, 'pve-domains.bash');
    await writeFile(manFile, renderManPage(document, '9.9.9', '2026-01-02'));
    await writeFile(completionFile, renderBashCompletion(document));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes usage for every path and command', () => {
    let commands = 0;
    for (const template of Object.keys(document.paths)) {
      const short = usageText(document, template, { verbose: false, command: undefined });
      assert.match(short, /^USAGE: pve-domains /, template);
      for (const verb of verbsOf(document, template)) {
        const verbose = usageText(document, template, { verbose: true, command: verb });
        assert.ok(verbose.startsWith(`USAGE: pve-domains ${verb} ${template}`), `${verb} ${template}`);
        if (verb === 'ls') continue;
        const operation = operationOf(document, template, methodOfVerb[verb]);
        assert.ok(operation !== undefined);
        assert.match(verbose, /Privileges: /);
        for (const parameter of cliParameters(operation)) {
          assert.match(verbose, new RegExp(`^  --${parameter.name} <`, 'm'), `${verb} ${template} lacks --${parameter.name}`);
          if (parameter.required) assert.ok(verbose.split('\n')[0]?.includes(`--${parameter.name} <`), `--${parameter.name} is required but not in the synopsis`);
        }
        commands += 1;
      }
    }
    assert.ok(commands >= 15, `only ${commands} commands have usage`);
  });

  it('describes types, defaults and secrets', () => {
    const create = usageText(document, '/services', { verbose: true, command: 'create' });
    assert.match(create, /^ {2}--vmid <integer> \(100 - 999999999\)$/m);
    assert.match(create, /^ {2}--backend-protocol <http \| https \| https-insecure>$/m);
    assert.match(create, /^ {2}--allowed-networks <string> \(list: repeat the option or separate values with commas\)$/m);
    assert.match(create, /^ {2}--https-redirect <boolean> \(0\|1\)$/m);
    const audit = usageText(document, '/audit', { verbose: true, command: 'get' });
    assert.match(audit, /--limit <integer> \(1 - 10000\) \(default=500\)/);
    const domain = usageText(document, '/domains/example.com', { verbose: true, command: 'set' });
    assert.match(domain, /^ {2}--cloudflare-token <secret> \(secret: use --cloudflare-token-file FILE, or give no value to be prompted\)$/m);
  });

  it('rejects an unknown path or command', () => {
    assert.throws(() => usageText(document, '/nowhere', { verbose: false, command: undefined }), /no API path matches \/nowhere/);
    assert.throws(() => usageText(document, '/domains', { verbose: false, command: 'set' }), /\/domains has no set command; its commands are/);
  });

  it('keeps CLI options apart from parameters', () => {
    for (const [template, item] of Object.entries(document.paths)) {
      for (const operation of Object.values(item)) {
        for (const parameter of cliParameters(operation)) {
          assert.ok(!(globalOptionNames as readonly string[]).includes(parameter.name), `--${parameter.name} of ${template} collides with a CLI option`);
        }
      }
    }
  });

  it('renders the man page', async () => {
    const page = await run('man', ['-l', '-P', 'cat', manFile], { env: { ...process.env, MANWIDTH: '200' } });
    assert.match(page.stdout, /pve-domains <ls\|get\|create\|set\|delete> PATH/);
    assert.match(page.stdout, /pve-external-domains 9\.9\.9 +2026-01-02/);
    for (const template of Object.keys(document.paths)) assert.match(page.stdout, new RegExp(`^   ${template.replace(/[{}]/g, '\\$&')}$`, 'm'));
    assert.match(page.stdout, /--cloudflare-token <secret>/);
    assert.match(page.stdout, /Privileges: Requires Sys\.Modify on \//);
    for (const code of ['0', '1', '2', '3', '4']) assert.match(page.stdout, new RegExp(`^EXIT STATUS[\\s\\S]*^ {7}${code}\\s`, 'm'));
  });

  it('has no roff warnings', async () => {
    const checked = await run('groff', ['-man', '-ww', '-z', manFile]);
    assert.equal(checked.stderr, '');
  });

  it('passes bash -n', async () => {
    const checked = await run('bash', ['-n', completionFile], { allowFailure: true });
    assert.equal(checked.code, 0, checked.stderr);
  });

  it('completes commands and formats', async () => {
    assert.deepEqual(await complete(['cr']), ['create']);
    assert.deepEqual(await complete(['d']), ['delete', 'diagnose']);
    assert.deepEqual(await complete(['get', '/services', '--output-format', 'j']), ['json', 'json-pretty']);
  });

  it('completes options of a concrete path', async () => {
    assert.deepEqual(await complete(['set', '/services/app.example.com', '--hsts']), ['--hsts-include-subdomains', '--hsts-max-age']);
    assert.deepEqual(await complete(['create', '/domains', '--cloudflare-t']), ['--cloudflare-token', '--cloudflare-token-file']);
    assert.deepEqual((await complete(['delete', '/domains/example.com', '--'])).sort(), ['--remove-services', ...globalOptionNames.map((name) => `--${name}`)].sort());
  });

  it('completes enum and boolean values', async () => {
    assert.deepEqual(await complete(['set', '/services/app.example.com', '--backend-protocol', '']), ['http', 'https', 'https-insecure']);
    assert.deepEqual(await complete(['set', '/services/app.example.com', '--https-redirect', '']), ['0', '1']);
    assert.deepEqual(await complete(['usage', '/domains', '--command', 's']), ['set']);
  });

  it('completes paths from the daemon', async () => {
    assert.ok((await complete(['get', '/se'])).includes('/services'));
    const bin = join(dir, 'bin');
    await mkdir(bin);
    // A stand-in CLI that lists one domain, as `pve-domains ls /domains/ --noborder --noheader` prints it.
    await writeFile(join(bin, 'pve-domains'), '#!/bin/sh\n[ "$2" = /domains/ ] && printf "Drw-d        example.com\\nDrw-d        example.net\\n"\n');
    await chmod(join(bin, 'pve-domains'), 0o755);
    assert.deepEqual(await complete(['get', '/domains/example.c'], `${bin}:/usr/bin:/bin`), ['/domains/example.com']);
  });

  it('lists every API verb', () => {
    assert.deepEqual([...apiVerbs], ['ls', 'get', 'create', 'set', 'delete']);
  });
});
