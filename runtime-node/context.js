// @ts-check
// The Lambda context object, with the fields and methods Lambda handlers use.

/** @typedef {{ functionName: string, functionVersion: string, memoryMiB: number }} FunctionIdentity */

/**
 * @param {FunctionIdentity} identity
 * @param {string} requestId
 * @param {number} deadline Unix milliseconds.
 */
export function makeContext(identity, requestId, deadline) {
  return {
    awsRequestId: requestId,
    functionName: identity.functionName,
    functionVersion: identity.functionVersion,
    memoryLimitInMB: String(identity.memoryMiB),
    invokedFunctionArn: `arn:roost:lambda:local:function:${identity.functionName}`,
    logGroupName: `/roost/${identity.functionName}`,
    logStreamName: identity.functionVersion,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
