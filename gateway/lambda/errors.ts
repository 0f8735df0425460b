// Failures of the Invoke API, in Lambda's form: the HTTP status Lambda uses,
// the exception name in x-amzn-ErrorType (the AWS SDK makes it the error's
// class: ResourceNotFoundException, ...), and a body {Type, message}. Roost's
// own refusals (GatewayError codes) are translated here, in one table.
import { GatewayError } from '../errors.ts';

export class LambdaApiError extends GatewayError {
  /** Lambda's exception name, such as ResourceNotFoundException. */
  readonly lambdaType: string;

  constructor(
    status: number,
    lambdaType: string,
    message: string,
    options: { retryAfterSeconds?: number } = {},
  ) {
    super(status, `ROOST_LAMBDA_${lambdaType}`, message, options);
    this.lambdaType = lambdaType;
  }
}

export const lambdaError = (status: number, lambdaType: string, message: string) =>
  new LambdaApiError(status, lambdaType, message);

/** Roost's gateway codes as the Lambda exception a Lambda client expects for them. */
const FROM_GATEWAY: Record<string, { status: number; type: string }> = {
  ROOST_FUNCTION_NOT_FOUND: { status: 404, type: 'ResourceNotFoundException' },
  ROOST_PAYLOAD_TOO_LARGE: { status: 413, type: 'RequestTooLargeException' },
  ROOST_RATE_LIMITED: { status: 429, type: 'TooManyRequestsException' },
  ROOST_OVERLOADED: { status: 429, type: 'TooManyRequestsException' },
  ROOST_GATEWAY_BUSY: { status: 429, type: 'TooManyRequestsException' },
  ROOST_NO_CAPACITY: { status: 429, type: 'TooManyRequestsException' },
  ROOST_EVENTS_UNAVAILABLE: { status: 500, type: 'ServiceException' },
  ROOST_FUNCTION_CANNOT_START: { status: 502, type: 'ResourceNotReadyException' },
  ROOST_UPSTREAM_FAILED: { status: 502, type: 'ServiceException' },
  ROOST_BAD_FUNCTION_RESPONSE: { status: 502, type: 'InvalidRuntimeException' },
  ROOST_BAD_REQUEST: { status: 400, type: 'InvalidRequestContentException' },
};

export function toLambdaError(error: GatewayError): LambdaApiError {
  if (error instanceof LambdaApiError) return error;
  const known = FROM_GATEWAY[error.code];
  const lambda = new LambdaApiError(
    known?.status ?? (error.status >= 500 ? 500 : error.status),
    known?.type ?? (error.status >= 500 ? 'ServiceException' : 'InvalidParameterValueException'),
    error.message,
    { retryAfterSeconds: error.retryAfterSeconds },
  );
  return lambda;
}

/** Lambda's error body: Type is User for the caller's mistakes, Service for Lambda's. */
export function lambdaErrorBody(error: LambdaApiError): string {
  return JSON.stringify({
    Type: error.status < 500 ? 'User' : 'Service',
    message: error.message,
    // Roost's code too, for scripts that know Roost.
    code: error.code,
  });
}
