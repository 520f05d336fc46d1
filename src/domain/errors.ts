// Error codes of the public API (seed 004's list, seed 002's auth codes, and the platform's own),
// each with the HTTP status it answers with.
export const ERROR_STATUS = {
  UNAUTHORIZED: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_API_TOKEN: 401,
  INVALID_ADMIN_TOKEN: 401,
  MISSING_API_TOKEN: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  API_TOKEN_NOT_FOUND: 404,
  USER_ALREADY_EXISTS: 409,
  // Another user has this phone number already (numbers are unique: the login bot finds a user by theirs).
  PHONE_NUMBER_TAKEN: 409,
  DEVICE_NOT_FOUND: 404,
  DEVICE_NOT_CONNECTED: 409,
  DEVICE_ALREADY_EXISTS: 409,
  DEVICE_ALREADY_CONNECTED: 409,
  SESSION_EXPIRED: 410,
  MESSAGE_SEND_FAILED: 502,
  INVALID_PHONE_NUMBER: 400,
  FILE_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  FILE_TOO_LARGE: 413,
  // A user's files would take more than FILE_QUOTA_BYTES.
  QUOTA_EXCEEDED: 413,
  INVALID_FILE_TYPE: 415,
  // The upload's body ended early or was not a well-formed multipart form with one `file`.
  UPLOAD_FAILED: 400,
  // A Range no byte of the file satisfies.
  RANGE_NOT_SATISFIABLE: 416,
  // A media URL to send from is not a public http(s) address, or did not answer with a file.
  INVALID_MEDIA_URL: 400,
  MEDIA_FETCH_FAILED: 422,
  // A file that cannot be sent as the kind asked (a PDF as an image), or whose conversion for WhatsApp failed.
  MEDIA_CONVERSION_FAILED: 422,
  // A received media message WhatsApp no longer has, which its sender's phone could not upload again.
  MEDIA_GONE: 410,
  RATE_LIMIT_EXCEEDED: 429,
  DAILY_LIMIT_EXCEEDED: 429,
  AI_PROVIDER_ERROR: 502,
  AI_COST_LIMIT_EXCEEDED: 429,
  INVALID_AI_CONFIG: 400,
  // A business template set, or a template of one, that the caller does not have.
  TEMPLATE_NOT_FOUND: 404,
  // A send naming a set its owner switched off.
  TEMPLATE_INACTIVE: 409,
  // Deleting a shipped set (a user replaces it with their own instead).
  TEMPLATE_READ_ONLY: 409,
  // A warmer campaign asked to do what its status does not allow (resume an active one, start a stopped one).
  INVALID_CAMPAIGN_STATE: 409,
  VALIDATION_ERROR: 400,
  PAYLOAD_TOO_LARGE: 413,
  // The request line and headers together exceed what the HTTP server reads (a URL of many kilobytes, say).
  REQUEST_HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SERVICE_UNAVAILABLE: 503,
  // Going online or offline needs the account's push name, which WhatsApp has not told the session yet.
  ACCOUNT_NAME_UNKNOWN: 409,
  // An Idempotency-Key already used for a different request.
  IDEMPOTENCY_KEY_REUSED: 409,
  // Resending a message that did not fail.
  MESSAGE_NOT_FAILED: 409,
  // A webhook URL that is not http(s) or points into a private network.
  INVALID_WEBHOOK_URL: 400,
  WEBHOOK_NOT_FOUND: 404,
  // A device's webhook of a kind it may have one of (seed 003's, seed 004's) exists already.
  WEBHOOK_ALREADY_EXISTS: 409,
  // A unique value taken, where no more precise code says which (src/db/database-errors.ts).
  ALREADY_EXISTS: 409,
  DELIVERY_NOT_FOUND: 404,
  INTERNAL_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.statusCode = ERROR_STATUS[code];
    this.details = details;
  }
}
