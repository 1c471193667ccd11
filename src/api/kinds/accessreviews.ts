// The review kinds: posted, answered, never stored (authorization.k8s.io/v1 access reviews,
// authentication.k8s.io/v1 SelfSubjectReview). The API server's authorizer answers them
// (src/apiserver/authz/reviews.ts).
import type { KindDef } from '../registry.js';

const review = (group: string, kind: string, namespaced = false): KindDef => ({
  group,
  version: 'v1',
  kind,
  plural: `${kind.toLowerCase()}s`,
  singular: kind.toLowerCase(),
  namespaced,
  createOnly: true,
  definition: `io.k8s.api.${group === 'authorization.k8s.io' ? 'authorization' : 'authentication'}.v1.${kind}`,
});

export const subjectAccessReviewKind = review('authorization.k8s.io', 'SubjectAccessReview');
export const selfSubjectAccessReviewKind = review('authorization.k8s.io', 'SelfSubjectAccessReview');
export const localSubjectAccessReviewKind = review('authorization.k8s.io', 'LocalSubjectAccessReview', true);
export const selfSubjectRulesReviewKind = review('authorization.k8s.io', 'SelfSubjectRulesReview');
export const selfSubjectReviewKind = review('authentication.k8s.io', 'SelfSubjectReview');
export const tokenReviewKind = review('authentication.k8s.io', 'TokenReview');
