import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHelp, escapeLabelValue, formatValue, renderExposition } from '../../daemon/src/metrics/exposition.js';
import { MetricsRegistry } from '../../daemon/src/metrics/registry.js';

describe('exposition format', () => {
  it('escapes label values', () => {
    assert.equal(escapeLabelValue('a\\b'), 'a\\\\b');
    assert.equal(escapeLabelValue('say "hi"'), 'say \\"hi\\"');
    assert.equal(escapeLabelValue('two\nlines'), 'two\\nlines');
    assert.equal(escapeLabelValue('*.example.com'), '*.example.com');
  });

  it('escapes help text', () => {
    assert.equal(escapeHelp('back\\slash'), 'back\\\\slash');
    assert.equal(escapeHelp('line\nbreak'), 'line\\nbreak');
    assert.equal(escapeHelp('keeps "quotes"'), 'keeps "quotes"');
  });

  it('formats special values', () => {
    assert.equal(formatValue(Number.NaN), 'NaN');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue(-Infinity), '-Inf');
    assert.equal(formatValue(1733356800), '1733356800');
    assert.equal(formatValue(0.5), '0.5');
  });

  it('writes HELP, TYPE and samples', () => {
    const text = renderExposition([
      { name: 'pve_domains_example_total', help: 'Example counter.', type: 'counter', samples: [{ labels: { id: 'a"b' }, value: 3 }] },
      { name: 'pve_domains_example', help: 'Example gauge.', type: 'gauge', samples: [{ labels: {}, value: 1 }] },
    ]);
    assert.equal(
      text,
      [
        '# HELP pve_domains_example_total Example counter.',
        '# TYPE pve_domains_example_total counter',
        'pve_domains_example_total{id="a\\"b"} 3',
        '# HELP pve_domains_example Example gauge.',
        '# TYPE pve_domains_example gauge',
        'pve_domains_example 1',
        '',
      ].join('\n'),
    );
  });

  it('keeps families without samples', () => {
    const text = renderExposition([{ name: 'pve_domains_empty', help: 'Nothing yet.', type: 'gauge', samples: [] }]);
    assert.equal(text, '# HELP pve_domains_empty Nothing yet.\n# TYPE pve_domains_empty gauge\n');
  });

  it('rejects a counter without _total', () => {
    assert.throws(() => renderExposition([{ name: 'pve_domains_requests', help: 'x', type: 'counter', samples: [] }]), /end in _total/);
  });

  it('rejects invalid names', () => {
    assert.throws(() => renderExposition([{ name: '1bad', help: 'x', type: 'gauge', samples: [] }]), /Invalid metric name/);
    assert.throws(() => renderExposition([{ name: 'good', help: 'x', type: 'gauge', samples: [{ labels: { 'bad-label': 'v' }, value: 1 }] }]), /Invalid label name/);
    assert.throws(() => renderExposition([{ name: 'good', help: 'x', type: 'gauge', samples: [{ labels: { __reserved: 'v' }, value: 1 }] }]), /Invalid label name/);
  });

  it('rejects a family listed twice', () => {
    const family = { name: 'pve_domains_twice', help: 'x', type: 'gauge' as const, samples: [] };
    assert.throws(() => renderExposition([family, family]), /listed twice/);
  });
});

describe('metrics registry', () => {
  it('counts per label set', async () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter('pve_domains_things_total', 'Things.', ['kind']);
    counter.inc({ kind: 'a' });
    counter.inc({ kind: 'a' }, 2);
    counter.inc({ kind: 'b' });
    assert.equal(counter.get({ kind: 'a' }), 3);
    assert.equal(counter.get({ kind: 'b' }), 1);
    assert.equal(counter.get({ kind: 'c' }), 0);
    const text = await registry.render();
    assert.match(text, /^pve_domains_things_total\{kind="a"\} 3$/m);
    assert.match(text, /^pve_domains_things_total\{kind="b"\} 1$/m);
  });

  it('rejects a decreasing counter', () => {
    const counter = new MetricsRegistry().counter('pve_domains_down_total', 'Down.');
    assert.throws(() => counter.inc({}, -1), /only increase/);
  });

  it('rejects a second registration', () => {
    const registry = new MetricsRegistry();
    registry.gauge('pve_domains_once', 'Once.');
    assert.throws(() => registry.gauge('pve_domains_once', 'Again.'), /registered twice/);
  });

  it('renders collectors in order', async () => {
    const registry = new MetricsRegistry();
    registry.gauge('pve_domains_first', 'First.').set({}, 1);
    registry.addCollector(() => [{ name: 'pve_domains_second', help: 'Second.', type: 'gauge', samples: [{ labels: {}, value: 2 }] }]);
    const text = await registry.render();
    assert.ok(text.indexOf('pve_domains_first') < text.indexOf('pve_domains_second'));
    assert.match(text, /^pve_domains_second 2$/m);
  });
});
