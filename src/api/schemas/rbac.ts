// rbac.authorization.k8s.io/v1 (roles and their bindings), authorization.k8s.io/v1 (access
// reviews) and authentication.k8s.io/v1 (SelfSubjectReview). Field names, required lists and
// list types follow upstream's published OpenAPI; descriptions are our own.
import { kindDefinition, s, type Definitions, type Schema } from '../schema.js';

const RBAC = 'io.k8s.api.rbac.v1.';
const AUTHZ = 'io.k8s.api.authorization.v1.';
const AUTHN = 'io.k8s.api.authentication.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

const atomic = (items: Schema, description: string): Schema => s.list(items, description, { 'x-kubernetes-list-type': 'atomic' });
const strings = (description: string): Schema => atomic({ type: 'string', default: '' }, description);
const rbacGVK = (kind: string) => ({ group: 'rbac.authorization.k8s.io', version: 'v1', kind });
const authzGVK = (kind: string) => ({ group: 'authorization.k8s.io', version: 'v1', kind });

export const rbacDefinitions: Definitions = {
  /* ---------- rbac.authorization.k8s.io/v1 ---------- */

  [`${RBAC}PolicyRule`]: s.obj(
    {
      verbs: strings('Verbs the rule allows (get, list, create, ... or * for all).'),
      apiGroups: strings('API groups of the resources; "" is the core group, * all.'),
      resources: strings('Resources the rule covers, "resource/subresource" for a subresource, * for all.'),
      resourceNames: strings('Names the rule is limited to; all when empty.'),
      nonResourceURLs: strings('Paths that are not resources (/healthz, /api/*); only in cluster roles bound cluster-wide.'),
    },
    'Actions a role allows, on resources or on non-resource URLs.',
    { required: ['verbs'] },
  ),

  [`${RBAC}AggregationRule`]: s.obj(
    { clusterRoleSelectors: atomic(s.ref(`${META}LabelSelector`, undefined, { default: {} }), 'The cluster roles whose rules this role gathers.') },
    'How a cluster role gathers the rules of others.',
  ),

  [`${RBAC}Role`]: kindDefinition(rbacGVK('Role'), 'A namespaced set of permissions.', {
    rules: atomic(s.ref(`${RBAC}PolicyRule`, undefined, { default: {} }), 'The permissions of the role.'),
  }),

  [`${RBAC}ClusterRole`]: kindDefinition(rbacGVK('ClusterRole'), 'A cluster-wide set of permissions, bound in a namespace or cluster-wide.', {
    rules: atomic(s.ref(`${RBAC}PolicyRule`, undefined, { default: {} }), 'The permissions of the role (written by the controller when aggregationRule is set).'),
    aggregationRule: s.ref(`${RBAC}AggregationRule`, 'Makes the role the union of the cluster roles it selects.'),
  }),

  [`${RBAC}Subject`]: s.obj(
    {
      kind: s.str('User, Group or ServiceAccount.', { default: '' }),
      apiGroup: s.str('"" for ServiceAccount, rbac.authorization.k8s.io for User and Group.'),
      name: s.str('Name of the user, group or service account.', { default: '' }),
      namespace: s.str("The service account's namespace."),
    },
    'Who a binding grants its role to.',
    { required: ['kind', 'name'], 'x-kubernetes-map-type': 'atomic' } as Partial<Schema>,
  ),

  [`${RBAC}RoleRef`]: s.obj(
    {
      apiGroup: s.str('rbac.authorization.k8s.io.', { default: '' }),
      kind: s.str('Role or ClusterRole.', { default: '' }),
      name: s.str('Name of the role.', { default: '' }),
    },
    'The role a binding grants.',
    { required: ['apiGroup', 'kind', 'name'], 'x-kubernetes-map-type': 'atomic' } as Partial<Schema>,
  ),

  [`${RBAC}RoleBinding`]: kindDefinition(
    rbacGVK('RoleBinding'),
    'Grants a Role or ClusterRole to subjects within one namespace.',
    {
      subjects: atomic(s.ref(`${RBAC}Subject`, undefined, { default: {} }), 'Who gets the role.'),
      roleRef: s.ref(`${RBAC}RoleRef`, 'The role granted. Fixed once created.', { default: {} }),
    },
    { required: ['roleRef'] },
  ),

  [`${RBAC}ClusterRoleBinding`]: kindDefinition(
    rbacGVK('ClusterRoleBinding'),
    'Grants a ClusterRole to subjects in every namespace and cluster-wide.',
    {
      subjects: atomic(s.ref(`${RBAC}Subject`, undefined, { default: {} }), 'Who gets the role.'),
      roleRef: s.ref(`${RBAC}RoleRef`, 'The cluster role granted. Fixed once created.', { default: {} }),
    },
    { required: ['roleRef'] },
  ),

  /* ---------- authorization.k8s.io/v1 ---------- */

  [`${AUTHZ}ResourceAttributes`]: s.obj(
    {
      namespace: s.str('Namespace of the action; "" for cluster-scoped resources or all namespaces.'),
      verb: s.str('get, list, watch, create, update, patch, delete, deletecollection, or a custom verb (use, bind, escalate, impersonate).'),
      group: s.str('API group of the resource; "" is the core group.'),
      version: s.str('API version of the resource.'),
      resource: s.str('The resource (plural).'),
      subresource: s.str('The subresource, if any.'),
      name: s.str('Name of the object; all when empty.'),
    },
    'A resource action.',
  ),

  [`${AUTHZ}NonResourceAttributes`]: s.obj({ path: s.str('The URL path.'), verb: s.str('The lower-cased HTTP method.') }, 'An action on a non-resource URL.'),

  [`${AUTHZ}SubjectAccessReviewSpec`]: s.obj(
    {
      resourceAttributes: s.ref(`${AUTHZ}ResourceAttributes`, 'The resource action asked about.'),
      nonResourceAttributes: s.ref(`${AUTHZ}NonResourceAttributes`, 'The non-resource action asked about.'),
      user: s.str('The user asked about.'),
      groups: strings("The user's groups."),
      extra: s.map({ type: 'array', items: { type: 'string', default: '' } }, "The user's extra attributes (an authenticator's, e.g. a ServiceAccount token's credential id)."),
      uid: s.str("The user's UID."),
    },
    'Whose action is asked about, and which.',
  ),

  [`${AUTHZ}SubjectAccessReviewStatus`]: s.obj(
    {
      allowed: s.bool('Whether the action is allowed.'),
      denied: s.bool('Whether the action is explicitly denied (never by RBAC).'),
      reason: s.str('Why, when there is something to say.'),
      evaluationError: s.str('What went wrong while deciding, if anything.'),
    },
    'The answer of an access review.',
    { required: ['allowed'] },
  ),

  [`${AUTHZ}SubjectAccessReview`]: kindDefinition(
    authzGVK('SubjectAccessReview'),
    'Asks whether a given user may perform an action.',
    {
      spec: s.ref(`${AUTHZ}SubjectAccessReviewSpec`, 'The question.', { default: {} }),
      status: s.ref(`${AUTHZ}SubjectAccessReviewStatus`, 'The answer, filled by the server.', { default: {} }),
    },
    { required: ['spec'] },
  ),

  [`${AUTHZ}LocalSubjectAccessReview`]: kindDefinition(
    authzGVK('LocalSubjectAccessReview'),
    "Asks whether a given user may perform an action in this review's namespace.",
    {
      spec: s.ref(`${AUTHZ}SubjectAccessReviewSpec`, 'The question; its namespace must be the one posted to.', { default: {} }),
      status: s.ref(`${AUTHZ}SubjectAccessReviewStatus`, 'The answer, filled by the server.', { default: {} }),
    },
    { required: ['spec'] },
  ),

  [`${AUTHZ}SelfSubjectAccessReviewSpec`]: s.obj(
    {
      resourceAttributes: s.ref(`${AUTHZ}ResourceAttributes`, 'The resource action asked about.'),
      nonResourceAttributes: s.ref(`${AUTHZ}NonResourceAttributes`, 'The non-resource action asked about.'),
    },
    'The action asked about; exactly one of the two is set.',
  ),

  [`${AUTHZ}SelfSubjectAccessReview`]: kindDefinition(
    authzGVK('SelfSubjectAccessReview'),
    'Asks whether the caller may perform an action (kubectl auth can-i).',
    {
      spec: s.ref(`${AUTHZ}SelfSubjectAccessReviewSpec`, 'The question.', { default: {} }),
      status: s.ref(`${AUTHZ}SubjectAccessReviewStatus`, 'The answer, filled by the server.', { default: {} }),
    },
    { required: ['spec'] },
  ),

  [`${AUTHZ}SelfSubjectRulesReviewSpec`]: s.obj({ namespace: s.str('The namespace whose rules are listed.') }, 'Which namespace.'),

  [`${AUTHZ}ResourceRule`]: s.obj(
    {
      verbs: strings('Verbs allowed.'),
      apiGroups: strings('API groups.'),
      resources: strings('Resources.'),
      resourceNames: strings('Names the rule is limited to.'),
    },
    'A resource rule the caller holds.',
    { required: ['verbs'] },
  ),

  [`${AUTHZ}NonResourceRule`]: s.obj(
    { verbs: strings('Verbs allowed.'), nonResourceURLs: strings('Paths; a trailing * matches any suffix.') },
    'A non-resource rule the caller holds.',
    { required: ['verbs'] },
  ),

  [`${AUTHZ}SubjectRulesReviewStatus`]: s.obj(
    {
      resourceRules: atomic(s.ref(`${AUTHZ}ResourceRule`, undefined, { default: {} }), 'Resource rules.'),
      nonResourceRules: atomic(s.ref(`${AUTHZ}NonResourceRule`, undefined, { default: {} }), 'Non-resource rules.'),
      incomplete: { ...s.bool('True when some rules could not be listed (an authorizer that cannot enumerate).'), default: false },
      evaluationError: s.str('What went wrong while listing, if anything.'),
    },
    'The rules the caller holds in a namespace.',
    { required: ['resourceRules', 'nonResourceRules', 'incomplete'] },
  ),

  [`${AUTHZ}SelfSubjectRulesReview`]: kindDefinition(
    authzGVK('SelfSubjectRulesReview'),
    'Lists what the caller may do in a namespace (kubectl auth can-i --list).',
    {
      spec: s.ref(`${AUTHZ}SelfSubjectRulesReviewSpec`, 'The question.', { default: {} }),
      status: s.ref(`${AUTHZ}SubjectRulesReviewStatus`, 'The answer, filled by the server.'),
    },
    { required: ['spec'] },
  ),

  /* ---------- authentication.k8s.io/v1 ---------- */

  [`${AUTHN}UserInfo`]: s.obj(
    {
      username: s.str('The name of the user.'),
      uid: s.str('A unique value for the user across time.'),
      groups: strings("The user's groups."),
    },
    'Who a user is, as the authenticator sees it.',
  ),

  [`${AUTHN}SelfSubjectReviewStatus`]: s.obj({ userInfo: s.ref(`${AUTHN}UserInfo`, 'The caller.', { default: {} }) }, 'The answer.'),

  [`${AUTHN}BoundObjectReference`]: s.obj(
    {
      kind: s.str('Pod or Secret (Node with a bound pod).'),
      apiVersion: s.str('API version of the object: v1.'),
      name: s.str('Name of the object.'),
      uid: s.str('UID of the object.'),
    },
    'The object a token is bound to: the token stops working when it goes.',
  ),

  [`${AUTHN}TokenRequestSpec`]: s.obj(
    {
      audiences: strings('Who the token is for; the API server when empty.'),
      expirationSeconds: s.int64('How long the token lives, at least 600 s (default 3600).'),
      boundObjectRef: s.ref(`${AUTHN}BoundObjectReference`, 'The object the token is bound to.'),
    },
    'The token wanted.',
    { required: ['audiences'] },
  ),

  [`${AUTHN}TokenRequestStatus`]: s.obj(
    { token: s.str('The token.', { default: '' }), expirationTimestamp: s.time('When the token expires.') },
    'The token issued.',
    { required: ['token', 'expirationTimestamp'] },
  ),

  [`${AUTHN}TokenRequest`]: kindDefinition(
    { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
    "Asks for a token of a service account (the serviceaccounts/token subresource, `kubectl create token`).",
    {
      spec: s.ref(`${AUTHN}TokenRequestSpec`, 'The token wanted.', { default: {} }),
      status: s.ref(`${AUTHN}TokenRequestStatus`, 'The token issued, filled by the server.', { default: {} }),
    },
    { required: ['spec'] },
  ),

  [`${AUTHN}TokenReviewSpec`]: s.obj(
    { token: s.str('The token to check.'), audiences: strings('Audiences the token must be meant for; the API server when empty.') },
    'The token to check.',
  ),

  [`${AUTHN}TokenReviewStatus`]: s.obj(
    {
      authenticated: s.bool('Whether the token is valid.'),
      user: s.ref(`${AUTHN}UserInfo`, 'Who the token stands for.', { default: {} }),
      audiences: strings('The audiences the token was checked against and is valid for.'),
      error: s.str('Why the token is not valid.'),
    },
    'The answer.',
  ),

  [`${AUTHN}TokenReview`]: kindDefinition(
    { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview' },
    'Asks whether a token is valid and whose it is.',
    {
      spec: s.ref(`${AUTHN}TokenReviewSpec`, 'The token.', { default: {} }),
      status: s.ref(`${AUTHN}TokenReviewStatus`, 'The answer, filled by the server.', { default: {} }),
    },
    { required: ['spec'] },
  ),

  [`${AUTHN}SelfSubjectReview`]: kindDefinition(
    { group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview' },
    'Tells the caller who the API server thinks it is (kubectl auth whoami).',
    { status: s.ref(`${AUTHN}SelfSubjectReviewStatus`, 'The answer, filled by the server.', { default: {} }) },
  ),
};
