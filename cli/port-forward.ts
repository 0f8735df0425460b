// Reaching Roost's pods from outside the cluster as `kubectl port-forward`
// does: through the API server and the pod's kubelet, over a WebSocket. The
// CLI uses it when all it has is a kubeconfig (a cluster installed with the
// chart), where pod addresses cannot be dialled from the user's machine.
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import { createServer, type AddressInfo, type Server } from 'node:net';

export class PodPortForwards {
  readonly #config: KubeConfig;
  readonly #addresses = new Map<string, Promise<string>>();
  readonly #servers: Server[] = [];

  constructor(config: KubeConfig) {
    this.#config = config;
  }

  /**
   * A host:port on 127.0.0.1 whose connections reach `port` of the pod, one
   * WebSocket stream each. One listener per pod and port, for the CLI's life.
   */
  address(namespace: string, pod: string, port: number): Promise<string> {
    const key = `${namespace}/${pod}:${port}`;
    let address = this.#addresses.get(key);
    if (!address) {
      address = this.#listen(namespace, pod, port);
      this.#addresses.set(key, address);
    }
    return address;
  }

  async #listen(namespace: string, pod: string, port: number): Promise<string> {
    const forward = new PortForward(this.#config);
    const server = createServer((socket) => {
      let stream: { close(): void } | undefined;
      // Either side may end first: the client (a finished gRPC call) or the
      // pod's side; each end closes the other, and a write that races the
      // close is dropped rather than thrown.
      socket.on('error', () => stream?.close());
      socket.on('close', () => stream?.close());
      forward.portForward(namespace, pod, [port], socket, null, socket).then(
        (ws) => {
          if (typeof ws === 'function') return;
          stream = ws;
          if (socket.destroyed) ws.close();
          ws.on('close', () => socket.end());
        },
        (err: unknown) => socket.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    });
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    // Open streams end with the CLI; the listener alone must not keep it alive.
    server.unref();
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  close(): void {
    for (const server of this.#servers) server.close();
  }
}
