// Who is calling: API keys stored as SHA-256 hashes, the App Service client principal, and when
// either is believed — off on a bare machine, on with keys or trusted Easy Auth, closed in Azure.
import { randomBytes } from 'node:crypto';
import {
  ANONYMOUS_LOCAL,
  authSettings,
  hashApiKey,
  IdentificationFailed,
  identify,
  matchApiKey,
  parseApiKeys,
  parseClientPrincipal,
  presentedApiKey,
  requireRole,
  type AuthSettings,
  type HeaderReader,
} from '../../src/security/identity';
import { AuthenticationError, AuthorizationError } from '../../src/shared/errors';

const headers = (values: Record<string, string>): HeaderReader => ({ get: (name) => values[name.toLowerCase()] ?? null });
const principal = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64');

const ROLE_CLAIM = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
const NAME_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
// The shape App Service documents for X-MS-CLIENT-PRINCIPAL (Entra ID, v2 tokens with app roles).
const ENTRA_PRINCIPAL = {
  auth_typ: 'aad',
  claims: [
    { typ: 'aud', val: 'api://integration' },
    { typ: NAME_CLAIM, val: 'ada@contoso.com' },
    { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: '8f2b-oid' },
    { typ: ROLE_CLAIM, val: 'ops' },
    { typ: ROLE_CLAIM, val: 'orders.read' },
    { typ: ROLE_CLAIM, val: 'Directory.Admin' },
    { typ: 'roles', val: 'orders.write' },
  ],
  name_typ: NAME_CLAIM,
  role_typ: ROLE_CLAIM,
};

describe('API keys', () => {
  test('a key is stored as the SHA-256 of its UTF-8 bytes (hex)', () => {
    // FIPS 180-2's test vector for "abc".
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashApiKey('ключ')).toHaveLength(64);
  });

  test('API_KEYS lists name, hash and roles; the hash matches its key and no other', () => {
    const key = randomBytes(32).toString('base64url');
    const entries = parseApiKeys(JSON.stringify([{ name: 'shop', sha256: hashApiKey(key).toUpperCase(), roles: ['orders.write', 'orders.read', 'orders.write'] }]));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ name: 'shop', roles: ['orders.write', 'orders.read'] });
    expect(matchApiKey(key, entries)?.name).toBe('shop');
    expect(matchApiKey(`${key}x`, entries)).toBeUndefined();
    expect(matchApiKey(key.slice(1), entries)).toBeUndefined();
    expect(matchApiKey('', entries)).toBeUndefined();
  });

  test('with several keys the matching one is found, whichever position it has', () => {
    const keys = ['k-one-0123456789', 'k-two-0123456789', 'k-three-012345678'];
    const entries = parseApiKeys(JSON.stringify(keys.map((k, i) => ({ name: `caller-${i}`, sha256: hashApiKey(k), roles: ['ops'] }))));
    expect(keys.map((k) => matchApiKey(k, entries)?.name)).toEqual(['caller-0', 'caller-1', 'caller-2']);
  });

  test('nothing, blank or an empty list configures no keys', () => {
    expect(parseApiKeys(undefined)).toEqual([]);
    expect(parseApiKeys('  ')).toEqual([]);
    expect(parseApiKeys('[]')).toEqual([]);
  });

  test.each([
    ['{not json', /not valid JSON/],
    ['{"name":"x"}', /must be a JSON list/],
    ['["x"]', /API_KEYS\[0\] must be an object/],
    [JSON.stringify([{ name: 'a', key: 'plain-secret', roles: ['ops'] }]), /holds a plain key; store its SHA-256/],
    [JSON.stringify([{ name: 'a b', sha256: hashApiKey('k'), roles: ['ops'] }]), /API_KEYS\[0\]\.name/],
    [JSON.stringify([{ name: 'a', sha256: 'abc', roles: ['ops'] }]), /API_KEYS\[0\]\.sha256 must be the key's SHA-256/],
    [JSON.stringify([{ name: 'a', sha256: hashApiKey('k'), roles: [] }]), /roles must list at least one/],
    [JSON.stringify([{ name: 'a', sha256: hashApiKey('k'), roles: ['admin'] }]), /unknown role "admin"/],
    [
      JSON.stringify([
        { name: 'a', sha256: hashApiKey('k'), roles: ['ops'] },
        { name: 'a', sha256: hashApiKey('j'), roles: ['ops'] },
      ]),
      /API_KEYS\[1\]\.name: "a" is used twice/,
    ],
    [
      JSON.stringify([
        { name: 'a', sha256: hashApiKey('k'), roles: ['ops'] },
        { name: 'b', sha256: hashApiKey('k'), roles: ['ops'] },
      ]),
      /the same key is listed twice/,
    ],
  ])('a broken API_KEYS is refused, naming the problem: %s', (text, message) => {
    expect(() => parseApiKeys(text)).toThrow(message);
  });

  test('the key is read from x-api-key or Authorization: ApiKey; a bearer token is not a key', () => {
    expect(presentedApiKey(headers({ 'x-api-key': ' k1 ' }))).toBe('k1');
    expect(presentedApiKey(headers({ authorization: 'ApiKey k2' }))).toBe('k2');
    expect(presentedApiKey(headers({ authorization: 'apikey   k3' }))).toBe('k3');
    expect(presentedApiKey(headers({ authorization: 'Bearer eyJ0eXAi' }))).toBeUndefined();
    expect(presentedApiKey(headers({ 'x-api-key': '' }))).toBeUndefined();
    expect(presentedApiKey(headers({}))).toBeUndefined();
  });
});

describe('the App Service client principal', () => {
  test('names the caller by name_typ and gives every claim of role_typ as a role', () => {
    expect(parseClientPrincipal(principal(ENTRA_PRINCIPAL))).toEqual({
      identityProvider: 'aad',
      name: 'ada@contoso.com',
      roleClaims: ['ops', 'orders.read', 'Directory.Admin'],
    });
  });

  test('without role_typ the "roles" claims are the roles; without a name claim the -NAME header, then the -ID header names the caller', () => {
    const payload = { auth_typ: 'aad', claims: [{ typ: 'roles', val: 'ops' }] };
    expect(parseClientPrincipal(principal(payload), headers({ 'x-ms-client-principal-name': 'daemon-app' }))).toMatchObject({ name: 'daemon-app', roleClaims: ['ops'] });
    expect(parseClientPrincipal(principal(payload), headers({ 'x-ms-client-principal-id': '1234-abcd' })).name).toBe('1234-abcd');
    expect(parseClientPrincipal(principal({ ...payload, claims: [...payload.claims, { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: 'oid-1' }] })).name).toBe('oid-1');
  });

  test.each([
    ['not base64', '%%%not base64%%%'],
    ['empty', ''],
    ['base64 of text that is not JSON', Buffer.from('hello, world').toString('base64')],
    ['a JSON list', principal([1, 2])],
    ['no auth_typ', principal({ claims: [] })],
    ['claims not a list', principal({ auth_typ: 'aad', claims: 'ops' })],
    ['a claim without val', principal({ auth_typ: 'aad', claims: [{ typ: 'roles' }] })],
    ['nobody named', principal({ auth_typ: 'aad', claims: [{ typ: 'roles', val: 'ops' }] })],
    ['far too long', 'A'.repeat(20_000)],
  ])('a garbled principal (%s) is a 401, never a crash', (_why, value) => {
    expect(() => parseClientPrincipal(value)).toThrow(AuthenticationError);
  });
});

describe('when identity is asked for', () => {
  const key = 'ops-key-0123456789abcdef';
  const API_KEYS = JSON.stringify([{ name: 'ops-console', sha256: hashApiKey(key), roles: ['ops'] }]);

  test('a bare machine runs open: auth off, everyone is anonymous-local with every role', () => {
    const settings = authSettings({});
    expect(settings).toMatchObject({ mode: 'off', inAzure: false, trustEasyAuth: false });
    expect(identify(headers({}), settings)).toBe(ANONYMOUS_LOCAL);
    expect(ANONYMOUS_LOCAL.roles).toEqual(expect.arrayContaining(['ops', 'orders.write', 'orders.read', 'inventory.write', 'messages.write', 'sagas.approve']));
  });

  test('keys configured: a key is required, and an unknown one is refused', () => {
    const settings = authSettings({ API_KEYS });
    expect(settings.mode).toBe('on');
    expect(identify(headers({ 'x-api-key': key }), settings)).toEqual({ name: 'ops-console', kind: 'apiKey', roles: ['ops'] });
    const refusal = (h: Record<string, string>) => {
      try {
        identify(headers(h), settings);
      } catch (error) {
        expect(error).toBeInstanceOf(IdentificationFailed);
        return (error as IdentificationFailed).problem;
      }
      throw new Error('not refused');
    };
    expect(refusal({})).toBe('none');
    expect(refusal({ 'x-api-key': 'guess' })).toBe('invalid-api-key');
    // Outside Azure, without AUTH_TRUST_EASY_AUTH, a client principal is anybody's to forge: ignored.
    expect(refusal({ 'x-ms-client-principal': principal(ENTRA_PRINCIPAL) })).toBe('none');
  });

  test('in Azure with nothing configured every request is refused (fail closed)', () => {
    for (const env of [{ WEBSITE_SITE_NAME: 'integration-app' }, { WEBSITE_INSTANCE_ID: 'abc123' }]) {
      const settings = authSettings(env);
      expect(settings).toMatchObject({ mode: 'unconfigured', inAzure: true });
      expect(() => identify(headers({ 'x-api-key': key }), settings)).toThrow(/Authentication is not configured/);
    }
  });

  test('Easy Auth is believed in Azure only when the platform says it is on, and outside Azure only when a setting says so', () => {
    expect(authSettings({ WEBSITE_SITE_NAME: 'app', WEBSITE_AUTH_ENABLED: 'True' })).toMatchObject({ mode: 'on', trustEasyAuth: true });
    // In Azure the local setting cannot switch it on: only App Service strips forged headers.
    expect(authSettings({ WEBSITE_SITE_NAME: 'app', AUTH_TRUST_EASY_AUTH: 'true' })).toMatchObject({ mode: 'unconfigured', trustEasyAuth: false });
    expect(authSettings({ AUTH_TRUST_EASY_AUTH: 'true' })).toMatchObject({ mode: 'on', trustEasyAuth: true, inAzure: false });
    expect(authSettings({ WEBSITE_AUTH_ENABLED: 'True' })).toMatchObject({ mode: 'off', trustEasyAuth: false });
  });

  test('a trusted principal is the caller, with the roles this app knows; it wins over a key; a garbled one is a 401', () => {
    const settings = authSettings({ AUTH_TRUST_EASY_AUTH: 'true', API_KEYS });
    expect(identify(headers({ 'x-ms-client-principal': principal(ENTRA_PRINCIPAL), 'x-api-key': key }), settings)).toEqual({
      name: 'ada@contoso.com',
      kind: 'easyAuth',
      roles: ['ops', 'orders.read'],
    });
    expect(identify(headers({ 'x-api-key': key }), settings).kind).toBe('apiKey');
    expect(() => identify(headers({ 'x-ms-client-principal': 'garbage!' }), settings)).toThrow(/not an App Service client principal/);
  });

  test('settings follow the environment: a changed API_KEYS is read again', () => {
    const env: NodeJS.ProcessEnv = { API_KEYS };
    const first: AuthSettings = authSettings(env);
    expect(authSettings(env)).toBe(first);
    // Revoking the last key closes the API: a present setting, even empty, means on.
    env.API_KEYS = '';
    expect(authSettings(env).mode).toBe('on');
    env.API_KEYS = '[]';
    expect(authSettings(env)).toMatchObject({ mode: 'on', apiKeys: [] });
    expect(() => identify(headers({ 'x-api-key': 'anything' }), authSettings(env))).toThrow(IdentificationFailed);
    delete env.API_KEYS;
    expect(authSettings(env).mode).toBe('off');
  });

  test('a role check answers 403 naming the roles needed', () => {
    const caller = { name: 'reporting', kind: 'apiKey' as const, roles: ['orders.read' as const] };
    expect(() => requireRole(caller, ['orders.read', 'ops'], 'order.read')).not.toThrow();
    expect(() => requireRole(caller, ['ops'], 'deadletters.purge')).toThrow(AuthorizationError);
    expect(() => requireRole(caller, ['ops'], 'deadletters.purge')).toThrow('reporting may not call deadletters.purge: it needs the role ops');
  });
});
