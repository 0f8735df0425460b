// The smallest Roost function: it greets whoever the event names, as an event
// (`roost invoke hello --data '{"name":"Ada"}'`) or over HTTP (`?name=Ada`).
export const handler = async (event, context) => {
  const name = event.name ?? event.queryStringParameters?.name ?? 'world';
  return { message: `Hello, ${name}!`, requestId: context.awsRequestId };
};
