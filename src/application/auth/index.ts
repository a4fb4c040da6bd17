export { type ApiKeyDeps, type CreatedKey, type VerifiedKey, createKey, listKeys, revokeKey, verifyKey } from './apiKeys.js'
export { DEFAULT_KEY_RING_CACHE_MS, DEFAULT_RETAIN_MS, type KeyRingDeps, type Rotated, createKeyRingSource, rotateSigningKey } from './keyRing.js'
export type {
  ApiKeyHasher,
  ApiKeyStore,
  AuthStoreError,
  CorruptRecord,
  KeyRingSource,
  PasswordHasher,
  RefreshTokenStore,
  SignedAccessToken,
  SigningKeyGenerator,
  SigningKeyStore,
  Stored,
  TokenSigner,
  TokenVerifier,
  UserStore,
} from './ports.js'
export { DEFAULT_REFRESH_TTL_MS, type IssuedTokens, type SessionDeps, refreshSession, revokeRefreshToken, revokeUserSessions, startSession } from './sessions.js'
export { DEFAULT_INVITE_TTL_MS, type Invitation, type Me, type UserDeps, acceptInvite, checkPassword, createUser, deleteUser, inviteUser, listUsers, login, me } from './users.js'
export { type AuthenticateDeps, type Authenticated, type PasswordCredential, type UserAuthDeps, admitTenant, authenticate, passwordCredential } from './authenticate.js'
export { type TokenReply, type TokenRequestDeps, requestTokens } from './tokenRequest.js'
