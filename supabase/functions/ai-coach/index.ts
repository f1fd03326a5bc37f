// POST /functions/v1/ai-coach: a chat turn with the coach. See _shared/coach/kinds/ai-coach.ts.
import { aiCoach } from '../_shared/coach/kinds/ai-coach.ts';
import { serveCoach } from '../_shared/coach/runtime.ts';

export default serveCoach(aiCoach);
