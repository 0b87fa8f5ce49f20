import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { renderForwardRemoval, renderForwardRuleset } from '../../daemon/src/forward/nft-ruleset.js';

/** Rendering of the nftables input for UDP services, without running nft. */

const game = { name: 'game.example.com', externalPort: 27015, target: { address: '10.0.0.5', port: 27015 } };
const voice = { name: 'voice.example.com', externalPort: 9987, target: { address: 'FD00::7', port: 9987 } };

describe('nft ruleset', () => {
  it('flushes and refills its table', () => {
    const text = renderForwardRuleset([game]);
    const lines = text.split('\n');
    assert.equal(lines[1], 'table inet pve_domains {}');
    assert.equal(lines[2], 'flush table inet pve_domains');
    assert.match(text, /type nat hook prerouting priority dstnat; policy accept;/);
  });

  it('renders an ipv4 dnat rule', () => {
    const text = renderForwardRuleset([game]);
    assert.match(text, /meta nfproto ipv4 fib daddr type local udp dport 27015 dnat ip to 10\.0\.0\.5:27015 comment "game\.example\.com"/);
  });

  it('renders an ipv6 dnat rule', () => {
    const text = renderForwardRuleset([voice]);
    assert.match(text, /meta nfproto ipv6 fib daddr type local udp dport 9987 dnat ip6 to \[fd00::7\]:9987/);
  });

  it('sorts rules by port', () => {
    const text = renderForwardRuleset([game, voice]);
    assert.ok(text.indexOf('dport 9987') < text.indexOf('dport 27015'));
  });

  it('names no other table', () => {
    const text = renderForwardRuleset([game, voice]) + renderForwardRemoval();
    const tables = [...text.matchAll(/table (\S+ \S+)/g)].map((match) => match[1]);
    assert.ok(tables.length > 0);
    assert.deepEqual([...new Set(tables)], ['inet pve_domains']);
  });

  it('deletes the table on removal', () => {
    assert.match(renderForwardRemoval(), /^table inet pve_domains \{\}\ndelete table inet pve_domains\n$/m);
  });

  it('rejects a shared external port', () => {
    assert.throws(() => renderForwardRuleset([game, { ...voice, externalPort: 27015 }]), /external UDP port 27015 is used by/);
  });

  it('rejects a name that could end the comment', () => {
    assert.throws(() => renderForwardRuleset([{ ...game, name: 'a" accept' }]), /invalid UDP service name/);
  });

  it('rejects an address with a zone id', () => {
    assert.throws(() => renderForwardRuleset([{ ...game, target: { address: 'fe80::1%eth0', port: 1 } }]), /invalid target address/);
  });

  it('rejects port zero', () => {
    assert.throws(() => renderForwardRuleset([{ ...game, externalPort: 0 }]), /invalid external port of game\.example\.com/);
  });
});
