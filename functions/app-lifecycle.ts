// When the worker stops (Azure scales in or swaps a deployment, the local host stops), the app's
// Service Bus, Event Hubs and Cosmos DB clients end their connections cleanly instead of having
// them cut — and a host that starts again in the same process gets clients of its own.
import { app, type AppTerminateContext } from '@azure/functions';
import { closePorts } from '../src/composition/ports';

export async function closeConnections(_context: AppTerminateContext): Promise<void> {
  await closePorts();
}

app.hook.appTerminate(closeConnections);
