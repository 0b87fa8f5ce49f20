import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerApiProperties } from './api-properties.js';
import { caseCounts, fuzzSeed, runScale, totalCases } from './budget.js';
import { registerCliProperties } from './cli-properties.js';
import { registerHaproxyProperties } from './haproxy-properties.js';
import { registerNameProperties } from './name-properties.js';
import { registerResponseProperties } from './response-properties.js';

/**
 * Property-based fuzzing of every input the daemon parses. One process runs every property so
 * that the run has one seed and one total; replay a failure with FUZZ_SEED=<seed>.
 */
describe('fuzz', () => {
  registerNameProperties();
  registerCliProperties();
  registerHaproxyProperties();
  registerApiProperties();
  registerResponseProperties();

  it('generates at least 10,000 cases', (context) => {
    for (const [name, count] of caseCounts()) context.diagnostic(`${name}: ${count} cases`);
    context.diagnostic(`total: ${totalCases()} cases, seed ${fuzzSeed}, FUZZ_RUNS ${runScale}`);
    assert.ok(totalCases() >= 10_000 * Math.min(1, runScale), `only ${totalCases()} cases ran`);
  });
});
