/** An HTTP error in the API's one shape: `{ "error": { "type", "message" } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 503,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}
