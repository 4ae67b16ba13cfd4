/**
 * Where the cluster's admission policy lives: one JSON value in the store's meta table, the
 * baseline default until an admin changes it.
 */
import type { Store } from '../store/store.ts';
import type { AdmissionPolicy } from './admission-policy.ts';
import { admissionPolicySchema, DEFAULT_POLICY } from './admission-policy.ts';

const META_KEY = 'admission_policy';

export function readPolicy(store: Store): AdmissionPolicy {
  const text = store.getMeta(META_KEY);
  return text === undefined ? DEFAULT_POLICY : admissionPolicySchema.parse(JSON.parse(text));
}

export function writePolicy(store: Store, policy: AdmissionPolicy): void {
  store.setMeta(META_KEY, JSON.stringify(admissionPolicySchema.parse(policy)));
}
