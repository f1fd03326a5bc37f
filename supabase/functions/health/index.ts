// GET /functions/v1/health: liveness and database reachability, no auth.
import { systemClock } from '../_shared/coach/deps.ts';
import { createHealthHandler } from '../_shared/health.ts';
import { consoleLogger } from '../_shared/log.ts';
import { platformConfig, platformDatabase, serveHandler } from '../_shared/runtime.ts';

// One connection at most: anonymous callers cannot make health hold more (health.ts also
// answers from one shared check at a time).
export default serveHandler(() => {
  const { config } = platformConfig();
  return createHealthHandler({
    sql: platformDatabase(config, 1),
    clock: systemClock,
    log: consoleLogger,
    config,
  });
});
