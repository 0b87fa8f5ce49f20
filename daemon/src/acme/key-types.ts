import acme from 'acme-client';
import type { KeyType } from '../store/model.js';

export const keyTypes: readonly KeyType[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-4096'];
export const defaultKeyType: KeyType = 'ecdsa-p256';

export function isKeyType(value: string): value is KeyType {
  return (keyTypes as readonly string[]).includes(value);
}

/** Creates a new private key of `keyType` as PKCS#8 PEM. */
export async function createCertificateKey(keyType: KeyType): Promise<string> {
  switch (keyType) {
    case 'ecdsa-p256':
      return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    case 'ecdsa-p384':
      return (await acme.crypto.createPrivateEcdsaKey('P-384')).toString();
    case 'rsa-2048':
      return (await acme.crypto.createPrivateRsaKey(2048)).toString();
    case 'rsa-4096':
      return (await acme.crypto.createPrivateRsaKey(4096)).toString();
  }
}
