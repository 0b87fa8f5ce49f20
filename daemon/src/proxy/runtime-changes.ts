import { RuntimeApiError, type RuntimeApi, type RuntimeRequestOptions } from './runtime-api.js';

/**
 * Runtime API command sequences for routes and certificates (HAProxy 2.6 and 3.0). Callers pass
 * only validated host names, map values and paths; the client rejects anything else that could
 * split a command.
 */

function isRejection(err: unknown, pattern: RegExp): boolean {
  return err instanceof RuntimeApiError && err.failure === 'rejected' && pattern.test(err.response);
}

/** Sets the map entry of `hostname`, adding it when the running map has none. */
export async function applyRoute(
  api: RuntimeApi,
  mapFile: string,
  hostname: string,
  value: string,
  options: RuntimeRequestOptions,
): Promise<void> {
  try {
    await api.execute({ command: `set map ${mapFile} ${hostname} ${value}` }, options);
  } catch (err) {
    // `add map` on an existing key would add a second entry, so it is used only when `set` found none.
    if (!isRejection(err, /entry not found/i)) throw err;
    await api.execute({ command: `add map ${mapFile} ${hostname} ${value}` }, options);
  }
}

/** Deletes the map entry of `hostname`; an entry that does not exist counts as deleted. */
export async function removeRoute(
  api: RuntimeApi,
  mapFile: string,
  hostname: string,
  options: RuntimeRequestOptions,
): Promise<void> {
  try {
    await api.execute({ command: `del map ${mapFile} ${hostname}` }, options);
  } catch (err) {
    if (!isRejection(err, /not found/i)) throw err;
  }
}

/** Returns whether the running crt-list `crtListFile` contains `certificatePath`. */
export async function crtListContains(
  api: RuntimeApi,
  crtListFile: string,
  certificatePath: string,
  options: RuntimeRequestOptions,
): Promise<boolean> {
  const output = await api.execute({ command: `show ssl crt-list ${crtListFile}` }, options);
  return output.split('\n').some((line) => line.trim().split(/\s+/)[0] === certificatePath);
}

/**
 * Loads `bundle` into the certificate store entry `certificatePath` and adds the entry to the
 * crt-list when it is not there yet. An existing certificate is replaced with set and commit only,
 * so connections keep being served without a crt-list change.
 */
export async function applyCertificate(
  api: RuntimeApi,
  crtListFile: string,
  certificatePath: string,
  bundle: string,
  options: RuntimeRequestOptions,
): Promise<void> {
  try {
    await api.execute({ command: `new ssl cert ${certificatePath}` }, options);
  } catch (err) {
    if (!isRejection(err, /already exists/i)) throw err;
  }

  await api.execute({ command: `set ssl cert ${certificatePath}`, payload: bundle }, options);
  try {
    await api.execute({ command: `commit ssl cert ${certificatePath}`, expect: /Success!/ }, options);
  } catch (err) {
    // An uncommitted transaction would block the next `set ssl cert` on the same entry.
    await api.execute({ command: `abort ssl cert ${certificatePath}` }, options).catch(() => undefined);
    throw err;
  }

  if (!(await crtListContains(api, crtListFile, certificatePath, options))) {
    await api.execute({ command: `add ssl crt-list ${crtListFile} ${certificatePath}`, expect: /Success!/ }, options);
  }
}

/** Removes `certificatePath` from the crt-list and then from the certificate store; missing entries count as removed. */
export async function removeCertificate(
  api: RuntimeApi,
  crtListFile: string,
  certificatePath: string,
  options: RuntimeRequestOptions,
): Promise<void> {
  // HAProxy refuses to delete a certificate that a crt-list still uses, hence this order.
  try {
    await api.execute({ command: `del ssl crt-list ${crtListFile} ${certificatePath}` }, options);
  } catch (err) {
    if (!isRejection(err, /does not exist|can't be found/i)) throw err;
  }
  try {
    await api.execute({ command: `del ssl cert ${certificatePath}` }, options);
  } catch (err) {
    if (!isRejection(err, /doesn't exist|does not exist/i)) throw err;
  }
}
