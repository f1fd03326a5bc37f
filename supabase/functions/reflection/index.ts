// POST /functions/v1/reflection: the user's reflection and the coach's answer.
import { reflection } from '../_shared/coach/kinds/reflection.ts';
import { serveCoach } from '../_shared/coach/runtime.ts';

export default serveCoach(reflection);
