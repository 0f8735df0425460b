// A queue-fed function: one invocation per batch, from RabbitMQ (the Amazon MQ
// event, rmqMessagesByQueue) or NATS JetStream (Records). Messages it cannot
// handle are named in batchItemFailures, so that only they are retried;
// delivery is at least once, so the work must be idempotent.
const seen = new Set();

function messagesOf(event) {
  if (event.rmqMessagesByQueue)
    return Object.values(event.rmqMessagesByQueue)
      .flat()
      .map((m) => ({ id: m.messageId, key: m.basicProperties.messageId, data: m.data }));
  return (event.Records ?? []).map((r) => ({
    id: r.messageId,
    key: r.headers?.['Nats-Msg-Id']?.[0],
    data: r.data,
  }));
}

export const handler = async (event) => {
  const batchItemFailures = [];
  for (const message of messagesOf(event)) {
    try {
      const order = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
      const key = message.key ?? order.id;
      if (key !== undefined && seen.has(key)) continue; // a redelivery: already done
      if (typeof order.id !== 'number') throw new Error('an order needs a numeric id');
      console.log(`order ${order.id}: ${order.items?.length ?? 0} items`);
      if (key !== undefined) seen.add(key);
    } catch (err) {
      console.error(`message ${message.id}: ${err.message}`);
      batchItemFailures.push({ itemIdentifier: message.id });
    }
  }
  return { batchItemFailures };
};
