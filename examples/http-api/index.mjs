// A function-URL style HTTP handler, as for AWS Lambda: the event carries the
// method, path, query string, headers, cookies and body; the result sets the
// status code, headers, cookies and body.
//   GET  /hello?name=Ada     greets, and counts visits in a cookie
//   POST /sum {"numbers":[]} adds up a JSON body
export const handler = async (event) => {
  const method = event.requestContext.http.method;
  const route = `${method} ${event.rawPath}`;
  if (route === 'GET /hello') return hello(event);
  if (route === 'POST /sum') return sum(event);
  return json(404, { error: `no route for ${route}; try GET /hello or POST /sum` });
};

function hello(event) {
  const name = event.queryStringParameters?.name ?? 'world';
  const visits = Number(cookie(event, 'visits') ?? 0) + 1;
  return {
    ...json(200, { greeting: `Hello, ${name}!`, visits }),
    cookies: [`visits=${visits}; Path=/; HttpOnly`],
  };
}

function sum(event) {
  const text = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString()
    : event.body;
  let numbers;
  try {
    numbers = JSON.parse(text ?? '').numbers;
  } catch {
    return json(400, { error: 'send a JSON body such as {"numbers": [1, 2]}' });
  }
  if (!Array.isArray(numbers) || !numbers.every((n) => typeof n === 'number'))
    return json(400, { error: '"numbers" must be an array of numbers' });
  return json(200, { sum: numbers.reduce((a, b) => a + b, 0) });
}

function cookie(event, name) {
  const found = (event.cookies ?? []).find((c) => c.startsWith(`${name}=`));
  return found?.slice(name.length + 1);
}

function json(statusCode, body) {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-example': 'http-api' },
    body: JSON.stringify(body),
  };
}
