// What this app hands the local Azure when it runs there (package.json "localAzure": { "hooks" }):
// the development keys Key Vault holds in Azure, its own HTTP auth rules for the host's front door
// (a caller it cannot identify is refused before a large body is read, as App Service
// authentication does in Azure) and for the dashboard's data. The host imports none of this; it
// calls these functions by the shapes @backbone/azure-model declares.
import type { IncomingHttpHeaders } from 'node:http';
import type { HostRefusal, LocalAzureHooks } from '@backbone/azure-model/local-runtime';
import { errorResponse } from './http/responses';
import { loadDevSecrets } from './security/dev-secrets';
import { authSettings, describeAuth, identify, requireRole, type HeaderReader } from './security/identity';
import { DASHBOARD_ROLES } from './security/operations';

const reader = (headers: IncomingHttpHeaders): HeaderReader => ({
  get(name) {
    const value = headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  },
});

/** The app's own answer to a refused caller (401/403 in its error shape), as the host should give it. */
function refusal(check: () => void): HostRefusal | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    const answer = errorResponse(error, { error: () => undefined });
    if (answer.status === 500) throw error;
    const body = answer.jsonBody as { error: { code: string; message: string } };
    return { status: answer.status, code: body.error.code, message: body.error.message, ...(answer.headers ? { headers: answer.headers as Record<string, string> } : {}) };
  }
}

export const hooks: LocalAzureHooks = {
  prepare({ dataDir, env }) {
    const secrets = loadDevSecrets(dataDir, env);
    const auth = authSettings(env);
    return {
      log: [
        ...(secrets.file && secrets.injected.length > 0 ? [{ level: 'information' as const, message: `Development keys (${secrets.injected.join(', ')}) from ${secrets.file}` }] : []),
        describeAuth(auth),
      ],
      httpAuth: auth.mode !== 'off',
      restore: () => secrets.restore(),
    };
  },
  refuseBeforeBody: (headers, env) => refusal(() => identify(reader(headers), authSettings(env))),
  authorizeDashboard: (headers, env) => refusal(() => requireRole(identify(reader(headers), authSettings(env)), DASHBOARD_ROLES, 'the dashboard API')),
};
