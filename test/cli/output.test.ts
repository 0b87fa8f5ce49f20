import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { cellText, renderData } from '../../daemon/src/cli/output.js';

const rows = [
  { fqdn: 'app.example.com', port: 8080, active: true, nets: ['10.0.0.0/8', '192.0.2.0/24'], options: { a: 1 } },
  { fqdn: 'wiki.example.com', port: 80, active: false, nets: [], options: { a: 2 } },
];

describe('renderData', () => {
  it('draws a bordered table for a list', () => {
    assert.equal(
      renderData(rows, 'text'),
      [
        '┌──────────────────┬──────┬────────┬─────────────────────────┐',
        '│ fqdn             │ port │ active │ nets                    │',
        '╞══════════════════╪══════╪════════╪═════════════════════════╡',
        '│ app.example.com  │ 8080 │ 1      │ 10.0.0.0/8,192.0.2.0/24 │',
        '│ wiki.example.com │ 80   │ 0      │                         │',
        '└──────────────────┴──────┴────────┴─────────────────────────┘',
      ].join('\n'),
    );
  });

  it('drops borders and header on request', () => {
    assert.equal(renderData(rows, 'text', { border: false, header: true }).split('\n')[0], 'fqdn             port active nets');
    assert.equal(renderData(rows, 'text', { border: false, header: false }), 'app.example.com  8080 1 10.0.0.0/8,192.0.2.0/24\nwiki.example.com 80   0');
  });

  it('keeps borders without header', () => {
    const lines = renderData(rows, 'text', { border: true, header: false }).split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[1] ?? '', /^│ app\.example\.com /);
  });

  it('flattens objects into key and value', () => {
    const text = renderData({ node: 'pve1', lock: { holder: null, held: false }, list: [{ a: 1 }] }, 'text', { border: false, header: false });
    assert.equal(text, 'node        pve1\nlock.holder\nlock.held   0\nlist        [{"a":1}]');
  });

  it('prints lists of scalars one per line', () => {
    assert.equal(renderData(['a', 'b'], 'text'), 'a\nb');
  });

  it('prints nothing for null', () => {
    assert.equal(renderData(null, 'text'), '');
    assert.equal(renderData(null, 'json'), 'null');
  });

  it('prints json, json-pretty and yaml', () => {
    assert.equal(renderData({ a: [1] }, 'json'), '{"a":[1]}');
    assert.equal(renderData({ a: [1] }, 'json-pretty'), '{\n  "a": [\n    1\n  ]\n}');
    assert.deepEqual(parseYaml(renderData(rows, 'yaml')), rows);
  });
});

describe('cellText', () => {
  it('writes booleans as 1 and 0', () => {
    assert.equal(cellText(true), '1');
    assert.equal(cellText(false), '0');
  });

  it('writes nested values as JSON', () => {
    assert.equal(cellText({ a: 1 }), '{"a":1}');
    assert.equal(cellText([{ a: 1 }]), '[{"a":1}]');
  });
});
