/** The error answer's body as the protocol declares it, named by Node's table of HTTP statuses. */
import { STATUS_CODES } from 'node:http';
import type { ErrorBody } from '@pod/protocol';

export const errorBody = (status: number, message: string): ErrorBody => ({
  error: STATUS_CODES[status] ?? 'Internal Server Error',
  message,
});
