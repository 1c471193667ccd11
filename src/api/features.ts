// Feature gates petset turns on or off, with upstream's gate names.

/**
 * MaxUnavailableStatefulSet: `spec.updateStrategy.rollingUpdate.maxUnavailable` lets a
 * rolling update replace several pods at once. Upstream made it beta in 1.35 and then
 * turned it back off by default (March 2026); petset turns it on, because rolling a
 * large set one pod at a time is one of the slowest things StatefulSets do.
 */
export const MAX_UNAVAILABLE_STATEFULSET = true;
