// POST /functions/v1/feedback: the user's feedback on a coach answer. See _shared/feedback.ts.
import { createFeedbackHandler } from '../_shared/feedback.ts';
import { platformDeps, serveHandler } from '../_shared/runtime.ts';

export default serveHandler(() => createFeedbackHandler(platformDeps()));
