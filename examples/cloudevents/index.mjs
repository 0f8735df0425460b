// A CloudEvents consumer. The gateway reads a CloudEvent sent over HTTP, in
// binary mode (ce-* headers) or structured mode (application/cloudevents+json),
// and hands the handler its JSON form: specversion, id, source, type, data...
export const handler = async (event) => {
  if (!event.specversion) {
    return {
      statusCode: 400,
      body: 'expected a CloudEvent: send ce-specversion, ce-id, ce-source and ce-type headers',
    };
  }
  console.log(`received ${event.type} ${event.id} from ${event.source}`);
  return { accepted: event.id, type: event.type, source: event.source, data: event.data ?? null };
};
