// POST /functions/v1/encouragement: an encouragement written for the user.
import { encouragement } from '../_shared/coach/kinds/encouragement.ts';
import { serveCoach } from '../_shared/coach/runtime.ts';

export default serveCoach(encouragement);
