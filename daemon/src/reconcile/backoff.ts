/**
 * Delay before the next attempt after `failures` consecutive failures: doubling from `minMs`
 * up to `maxMs`, with up to 20% random jitter subtracted so that objects that failed together
 * do not retry together.
 */
export function retryDelay(failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, failures - 1);
  const base = Math.min(maxMs, minMs * 2 ** Math.min(exponent, 30));
  return Math.round(base * (1 - 0.2 * random()));
}
