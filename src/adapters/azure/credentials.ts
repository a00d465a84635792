// Identity-based connections, configured the way Azure Functions reads them:
// <Connection>__fullyQualifiedNamespace (or __accountEndpoint, ...), <Connection>__credential
// ("managedidentity") and <Connection>__clientId for a user-assigned identity. No keys.
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

export function credentialFor(connection: string, env: NodeJS.ProcessEnv = process.env): TokenCredential {
  const kind = env[`${connection}__credential`]?.toLowerCase();
  const clientId = env[`${connection}__clientId`];
  if (kind === 'managedidentity') {
    return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  }
  // Local development against the cloud: az login / azd auth login credentials.
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}
