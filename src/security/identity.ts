// Who is calling: an App Service Authentication ("Easy Auth") client principal where the platform
// vouches for it, otherwise an API key from the API_KEYS setting, each mapped to roles. Auth is
// off only on a machine where nothing is configured (npm start, tests); in Azure an app with no
// way to identify callers refuses everyone rather than run open. See docs/security.md.
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, AuthorizationError } from '../shared/errors';

export const ROLES = ['orders.read', 'orders.write', 'inventory.write', 'messages.write', 'sagas.approve', 'ops'] as const;
export type Role = (typeof ROLES)[number];

export type CallerKind = 'apiKey' | 'easyAuth' | 'system' | 'anonymous-local';

export interface Caller {
  name: string;
  kind: CallerKind;
  roles: Role[];
}

/** Everyone, when auth is off: a machine with no keys and no Easy Auth configured. */
export const ANONYMOUS_LOCAL: Caller = Object.freeze({ name: 'anonymous-local', kind: 'anonymous-local', roles: [...ROLES] }) as Caller;

export interface ApiKeyEntry {
  name: string;
  /** SHA-256 of the key's UTF-8 bytes: the setting never holds a key itself. */
  sha256: Buffer;
  roles: Role[];
}

export interface AuthSettings {
  /**
   * off: nothing configured on a developer machine (no API_KEYS setting at all); on: callers must
   * identify (a present API_KEYS, even an empty list or a blank value, means on: revoking the last
   * key closes the API instead of opening it); unconfigured: in Azure with nothing configured —
   * every caller is refused.
   */
  mode: 'off' | 'on' | 'unconfigured';
  apiKeys: ApiKeyEntry[];
  /** Whether x-ms-client-principal is honoured (only where nobody but the platform can set it). */
  trustEasyAuth: boolean;
  inAzure: boolean;
}

export const API_KEY_HEADER = 'x-api-key';
export const CLIENT_PRINCIPAL_HEADER = 'x-ms-client-principal';
const NAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/i;
const MAX_PRINCIPAL_CHARS = 16 * 1024;
const MAX_NAME_CHARS = 256;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);
const truthy = (value: string | undefined) => /^\s*true\s*$/i.test(value ?? '');

/**
 * Parses API_KEYS: a JSON list of { name, sha256, roles }. A mistake (a plain key instead of a
 * hash, an unknown role, a repeated name) throws, naming the entry: a typo must not open or
 * silently close the API.
 */
export function parseApiKeys(text: string | undefined): ApiKeyEntry[] {
  if (text === undefined || text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`API_KEYS is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(value)) throw new Error('API_KEYS must be a JSON list of { "name", "sha256", "roles" }');
  const names = new Set<string>();
  const hashes = new Set<string>();
  return value.map((raw, i) => {
    const entry = raw as { name?: unknown; sha256?: unknown; roles?: unknown; key?: unknown };
    const where = `API_KEYS[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw new Error(`${where} must be an object { "name", "sha256", "roles" }`);
    if (entry.key !== undefined) throw new Error(`${where} holds a plain key; store its SHA-256 as "sha256" instead (npm run api-key prints both)`);
    if (typeof entry.name !== 'string' || !NAME_PATTERN.test(entry.name)) throw new Error(`${where}.name must be 1–64 letters, digits, . _ @ or -`);
    if (typeof entry.sha256 !== 'string' || !SHA256_HEX.test(entry.sha256)) throw new Error(`${where}.sha256 must be the key's SHA-256 as 64 hex digits`);
    if (!Array.isArray(entry.roles) || entry.roles.length === 0) throw new Error(`${where}.roles must list at least one of ${ROLES.join(', ')}`);
    for (const role of entry.roles) if (!isRole(role)) throw new Error(`${where}.roles: unknown role ${JSON.stringify(role)}; roles are ${ROLES.join(', ')}`);
    if (names.has(entry.name)) throw new Error(`${where}.name: "${entry.name}" is used twice`);
    const hash = entry.sha256.toLowerCase();
    if (hashes.has(hash)) throw new Error(`${where}.sha256: the same key is listed twice`);
    names.add(entry.name);
    hashes.add(hash);
    return { name: entry.name, sha256: Buffer.from(hash, 'hex'), roles: [...new Set(entry.roles as Role[])] };
  });
}

let cached: { fingerprint: string; settings: AuthSettings } | undefined;

/** The auth settings of this process, re-read when a setting changes (tests and drills flip them). */
export function authSettings(env: NodeJS.ProcessEnv = process.env): AuthSettings {
  // WEBSITE_INSTANCE_ID (App Service plans) or WEBSITE_SITE_NAME (every plan) exist only in Azure.
  const inAzure = Boolean(env.WEBSITE_SITE_NAME || env.WEBSITE_INSTANCE_ID);
  // In Azure only the platform decides: with App Service authentication on, its front end strips
  // client-sent x-ms-client-principal headers. Elsewhere only a setting can say a proxy in front does.
  const trustEasyAuth = inAzure ? truthy(env.WEBSITE_AUTH_ENABLED) : truthy(env.AUTH_TRUST_EASY_AUTH);
  const fingerprint = JSON.stringify([inAzure, trustEasyAuth, env.API_KEYS ?? '']);
  if (cached?.fingerprint === fingerprint) return cached.settings;
  const apiKeys = parseApiKeys(env.API_KEYS);
  const mode = apiKeys.length > 0 || trustEasyAuth ? 'on' : inAzure ? 'unconfigured' : env.API_KEYS !== undefined ? 'on' : 'off';
  cached = { fingerprint, settings: { mode, apiKeys, trustEasyAuth, inAzure } };
  return cached.settings;
}

/** One line for the host's start-up log: the auth mode, how many keys, and what `off` leaves open. */
export function describeAuth(settings: AuthSettings): { level: 'information' | 'warning'; message: string } {
  const keys = `${settings.apiKeys.length} API key${settings.apiKeys.length === 1 ? '' : 's'}`;
  if (settings.mode === 'off') {
    return {
      level: 'warning',
      message:
        'HTTP auth: off (no API_KEYS setting) — every route is open to anyone who can reach this port: order commands, the ops API (dead-letter resubmit and purge, rebuilds, saga terminate) and the Durable HTTP API. Set API_KEYS (npm run api-key) to turn it on.',
    };
  }
  if (settings.mode === 'unconfigured')
    return { level: 'warning', message: 'HTTP auth: not configured in Azure — every request but /api/health is refused until API_KEYS or App Service authentication is set.' };
  const how = [settings.trustEasyAuth ? 'App Service authentication (x-ms-client-principal)' : undefined, `${keys}`].filter(Boolean).join(' and ');
  if (settings.apiKeys.length === 0 && !settings.trustEasyAuth)
    return { level: 'warning', message: 'HTTP auth: on with 0 API keys (API_KEYS is an empty list) — every request but /api/health is refused.' };
  return { level: 'information', message: `HTTP auth: on — ${how}.` };
}

export interface HeaderReader {
  get(name: string): string | null;
}

/** The presented API key: `x-api-key: <key>` or `Authorization: ApiKey <key>`. */
export function presentedApiKey(headers: HeaderReader): string | undefined {
  const direct = headers.get(API_KEY_HEADER);
  if (direct !== null && direct.trim() !== '') return direct.trim();
  const authorization = headers.get('authorization');
  const m = authorization === null ? null : /^\s*ApiKey\s+(\S+)\s*$/i.exec(authorization);
  return m ? m[1] : undefined;
}

/** The entry whose hash matches; every entry is compared, in constant time, whatever matched. */
export function matchApiKey(key: string, entries: readonly ApiKeyEntry[]): ApiKeyEntry | undefined {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  let found: ApiKeyEntry | undefined;
  for (const entry of entries) if (timingSafeEqual(digest, entry.sha256) && !found) found = entry;
  return found;
}

export interface ClientPrincipal {
  identityProvider: string;
  name: string;
  /** Every role claim, known to this app or not. */
  roleClaims: string[];
}

interface PrincipalPayload {
  auth_typ?: unknown;
  claims?: unknown;
  name_typ?: unknown;
  role_typ?: unknown;
}

/**
 * Decodes X-MS-CLIENT-PRINCIPAL: base64 of `{ auth_typ, claims: [{ typ, val }], name_typ, role_typ }`.
 * The caller's name is the claim of type name_typ (then the -NAME header, then the principal id);
 * its roles are the claims of type role_typ ("roles" when the payload names none).
 */
export function parseClientPrincipal(value: string, headers?: HeaderReader): ClientPrincipal {
  const invalid = (why: string) => new AuthenticationError(`The ${CLIENT_PRINCIPAL_HEADER} header is not an App Service client principal: ${why}`, CLIENT_PRINCIPAL_HEADER);
  const text = value.trim();
  if (text.length === 0 || text.length > MAX_PRINCIPAL_CHARS || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw invalid('not base64');
  let payload: PrincipalPayload;
  try {
    payload = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as PrincipalPayload;
  } catch {
    throw invalid('not base64-encoded JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw invalid('not a JSON object');
  if (typeof payload.auth_typ !== 'string' || payload.auth_typ === '') throw invalid('auth_typ is missing');
  if (!Array.isArray(payload.claims)) throw invalid('claims is not a list');
  const claims = payload.claims.map((c, i) => {
    const claim = c as { typ?: unknown; val?: unknown };
    if (typeof claim !== 'object' || claim === null || typeof claim.typ !== 'string' || typeof claim.val !== 'string') throw invalid(`claims[${i}] is not { typ, val }`);
    return { typ: claim.typ, val: claim.val };
  });
  const roleType = typeof payload.role_typ === 'string' && payload.role_typ ? payload.role_typ : 'roles';
  const nameType = typeof payload.name_typ === 'string' ? payload.name_typ : undefined;
  const name =
    (nameType && claims.find((c) => c.typ === nameType)?.val) ||
    headers?.get('x-ms-client-principal-name') ||
    headers?.get('x-ms-client-principal-id') ||
    claims.find((c) => c.typ === 'http://schemas.microsoft.com/identity/claims/objectidentifier' || c.typ === 'oid')?.val;
  if (!name) throw invalid('it names no caller');
  return { identityProvider: payload.auth_typ, name: name.slice(0, MAX_NAME_CHARS), roleClaims: claims.filter((c) => c.typ === roleType).map((c) => c.val) };
}

/** Why an identification failed, for the audit (never the presented secret). */
export type CredentialProblem = 'none' | 'invalid-api-key' | 'invalid-principal' | 'not-configured';

export class IdentificationFailed extends AuthenticationError {
  constructor(
    message: string,
    readonly problem: CredentialProblem,
  ) {
    super(message);
  }
}

/**
 * The caller of a request. Throws IdentificationFailed (401) when it cannot be identified and
 * auth is on. A trusted client principal wins over an API key: the platform has vouched for it.
 */
export function identify(headers: HeaderReader, settings: AuthSettings): Caller {
  if (settings.mode === 'off') return ANONYMOUS_LOCAL;
  if (settings.mode === 'unconfigured') {
    throw new IdentificationFailed('Authentication is not configured for this app: set API_KEYS or turn on App Service authentication. Every request is refused until then.', 'not-configured');
  }
  const principal = settings.trustEasyAuth ? headers.get(CLIENT_PRINCIPAL_HEADER) : null;
  if (principal !== null) {
    let parsed: ClientPrincipal;
    try {
      parsed = parseClientPrincipal(principal, headers);
    } catch (error) {
      throw new IdentificationFailed((error as Error).message, 'invalid-principal');
    }
    return { name: parsed.name, kind: 'easyAuth', roles: parsed.roleClaims.filter(isRole) };
  }
  const key = presentedApiKey(headers);
  if (key === undefined) {
    throw new IdentificationFailed(
      `This operation needs an API key: send it as ${API_KEY_HEADER}: <key> or Authorization: ApiKey <key>${settings.trustEasyAuth ? ', or sign in through App Service authentication' : ''}.`,
      'none',
    );
  }
  const entry = matchApiKey(key, settings.apiKeys);
  if (!entry) throw new IdentificationFailed('The API key is not valid.', 'invalid-api-key');
  return { name: entry.name, kind: 'apiKey', roles: entry.roles };
}

/** 403 unless the caller has one of the roles. */
export function requireRole(caller: Caller, roles: readonly Role[], what: string): void {
  if (!roles.some((role) => caller.roles.includes(role))) {
    throw new AuthorizationError(`${caller.name} may not call ${what}: it needs the role ${roles.join(' or ')}`, 'roles');
  }
}
