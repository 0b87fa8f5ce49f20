import type { Principal } from './auth.js';
import type { ErrorItem } from './errors.js';
import type { ResultInfo } from './pagination.js';
import type { SimulatorStore } from './store.js';
import type { Owner } from './views.js';

/** Everything a route handler needs about the request and the simulator state. */
export interface ApiContext {
  readonly store: SimulatorStore;
  readonly owner: Owner;
  readonly nameServers: string[];
  readonly principal: Principal;
  readonly method: string;
  /** Full request path including `/client/v4`, used in 7003 messages. */
  readonly fullPath: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
}

/** A successful result; the HTTP layer wraps it in the v4 envelope with status 200. */
export interface ApiResult {
  result: unknown;
  resultInfo?: ResultInfo;
  messages?: Array<ErrorItem & { type?: null }>;
}
