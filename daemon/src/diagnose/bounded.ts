import { errorMessage } from '../errors.js';
import type { CheckOutcome } from './types.js';

/**
 * Runs `work` with a signal that aborts after `timeoutMs` and returns `onTimeout()` at that time,
 * whether or not `work` honours the signal. `graceMs` lets work that must clean up after the abort
 * (the probe record's deletion) finish before the caller goes on; its result is dropped.
 */
export async function withTimeout<T>(timeoutMs: number, work: (signal: AbortSignal) => Promise<T>, onTimeout: () => T, graceMs = 0): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const running = work(controller.signal);
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const first = await Promise.race([running, expired]);
    if (first !== 'timeout') return first;
  } finally {
    clearTimeout(timer);
  }
  controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  if (graceMs > 0) {
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      graceTimer = setTimeout(resolve, graceMs);
    });
    await Promise.race([running.then(() => undefined, () => undefined), grace]);
    clearTimeout(graceTimer);
  } else {
    // The abandoned work may still reject; that must not become an unhandled rejection.
    running.catch(() => undefined);
  }
  return onTimeout();
}

/**
 * Runs one check within `timeoutMs`. A timeout or an unexpected error becomes a failed outcome;
 * `fix` is the advice given in both cases.
 */
export function boundedCheck(timeoutMs: number, fix: string, work: (signal: AbortSignal) => Promise<CheckOutcome>): Promise<CheckOutcome> {
  const guarded = async (signal: AbortSignal): Promise<CheckOutcome> => {
    try {
      return await work(signal);
    } catch (err) {
      return { verdict: 'failed', message: `The check failed: ${errorMessage(err)}`, fix };
    }
  };
  return withTimeout(timeoutMs, guarded, () => ({ verdict: 'failed', message: `The check did not finish within ${Math.round(timeoutMs / 1000)} s`, fix }));
}
