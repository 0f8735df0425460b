// The smallest Roost function: it greets whoever is named in the query string.
export const handler = async (event, context) => {
  const name = event.queryStringParameters?.name ?? 'world';
  return { message: `Hello, ${name}!`, requestId: context.awsRequestId };
};
