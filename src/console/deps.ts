import type { AgentPG } from '../client.js';
import type { Queryable } from '../db/queryable.js';
import type { Authenticator } from '../service/auth.js';

/** What the console's routes need from the service (src/service/http.ts passes them). */
export interface ConsoleDeps {
  client: AgentPG;
  /** The service's own pool: the console's reads go here, not through the client's. */
  db: Queryable;
  auth: Authenticator;
  isDraining: () => boolean;
  shutdown?: AbortSignal;
  /** Metadata stamped on every run (the offline model's note), as the API does. */
  runMetadata?: Record<string, unknown>;
}
