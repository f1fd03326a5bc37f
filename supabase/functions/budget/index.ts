// GET /functions/v1/budget: the user's plan and budget windows. See _shared/budget/handler.ts.
import { createBudgetHandler } from '../_shared/budget/handler.ts';
import { platformDeps, serveHandler } from '../_shared/runtime.ts';

export default serveHandler(() => createBudgetHandler(platformDeps()));
