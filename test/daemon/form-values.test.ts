import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertFormValues } from '../../daemon/src/api/form-values.js';

const schema = {
  type: 'object',
  properties: {
    port: { type: 'integer' },
    redirect: { type: 'boolean' },
    name: { type: 'string' },
    targets: { type: 'array', items: { type: 'object', properties: { vmid: { type: 'integer' } } } },
  },
};

describe('convertFormValues', () => {
  it('converts decimal integers', () => {
    assert.deepEqual(convertFormValues(schema, { port: '8080' }), { port: 8080 });
  });
  for (const loose of ['1e3', '0x50', ' 80', '102.0', '080', '', '+80']) {
    it(`keeps ${JSON.stringify(loose)} a string`, () => {
      assert.deepEqual(convertFormValues(schema, { port: loose }), { port: loose });
    });
  }
  it('converts pve booleans', () => {
    assert.deepEqual(convertFormValues(schema, { redirect: '0' }), { redirect: false });
    assert.deepEqual(convertFormValues(schema, { redirect: 'true' }), { redirect: true });
  });
  it('leaves strings of string fields', () => {
    assert.deepEqual(convertFormValues(schema, { name: '101' }), { name: '101' });
  });
  it('converts inside arrays', () => {
    assert.deepEqual(convertFormValues(schema, { targets: [{ vmid: '101' }] }), { targets: [{ vmid: 101 }] });
  });
});
