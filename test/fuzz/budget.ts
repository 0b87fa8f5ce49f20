import fc from 'fast-check';

/**
 * Seed, run counts and the case tally shared by every property of the fuzz suite.
 *
 * FUZZ_SEED replays a run: every property of one run uses the same seed, printed with the totals
 * and in fast-check's failure report (with the path of the failing case). FUZZ_RUNS multiplies
 * every property's number of runs, for longer runs than the test command's.
 */

/** Seed of the test command's runs; fixed, so that `npm test` generates the same cases each time. */
const defaultSeed = 20_261_204;

function readSeed(): number {
  const text = process.env['FUZZ_SEED'];
  if (text === undefined || text === '') return defaultSeed;
  if (text === 'random') return Math.floor(Math.random() * 0x7fff_ffff);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED=${text} is not an integer; set an integer seed, or "random"`);
  return seed;
}

function readScale(): number {
  const text = process.env['FUZZ_RUNS'];
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`FUZZ_RUNS=${text} is not a positive number; set a multiplier such as 10`);
  return scale;
}

export const fuzzSeed = readSeed();
export const runScale = readScale();

const tally = new Map<string, number>();

/** Returns the number of runs of a property whose base count is `base`, scaled by FUZZ_RUNS. */
export function scaledRuns(base: number): number {
  return Math.max(1, Math.round(base * runScale));
}

/**
 * Checks `predicate` on `baseRuns` (times FUZZ_RUNS) values of `arbitrary` with the run's seed,
 * and counts each generated case under `name`. A predicate fails by throwing.
 */
export async function checkProperty<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void> | void, baseRuns: number): Promise<void> {
  const property = fc.asyncProperty(arbitrary, async (value) => {
    tally.set(name, (tally.get(name) ?? 0) + 1);
    await predicate(value);
  });
  await fc.assert(property, { seed: fuzzSeed, numRuns: scaledRuns(baseRuns) });
}

/** Cases generated so far, by property name. */
export function caseCounts(): ReadonlyMap<string, number> {
  return tally;
}

export function totalCases(): number {
  let total = 0;
  for (const count of tally.values()) total += count;
  return total;
}
