// GET /functions/v1/health: liveness and database reachability, no auth.
import { createHealthHandler } from '../_shared/health.ts';
import { serveHandler } from '../_shared/runtime.ts';

export default serveHandler((deps) => createHealthHandler(deps));
