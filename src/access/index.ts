export { createApiKey, verifyApiKey, listApiKeys, revokeApiKey, anyApiKey } from './keys.js';
export type { CreateApiKeyInput, ApiKeyInfo } from './keys.js';
export { seesTenant, ROLES, type Principal, type Role } from './principal.js';
export { looksLikeApiKey } from './keyFormat.js';
