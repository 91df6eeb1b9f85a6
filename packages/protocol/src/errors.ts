/** The body of every error answer: `{"error": <HTTP status name>, "message": <what to do>}`. */
import { z } from 'zod';

export const ErrorBody = z.object({ error: z.string(), message: z.string() });
export type ErrorBody = z.infer<typeof ErrorBody>;
