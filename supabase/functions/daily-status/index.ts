// POST /functions/v1/daily-status: the day's status, with the coach's comment.
import { dailyStatus } from '../_shared/coach/kinds/daily-status.ts';
import { serveCoach } from '../_shared/coach/runtime.ts';

export default serveCoach(dailyStatus);
