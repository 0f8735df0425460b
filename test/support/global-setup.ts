// Starts one real control plane for the whole test run and hands its
// kubeconfig to every test file.
import type { TestProject } from 'vitest/node';
import { startControlPlane, type ControlPlane } from '../../testenv/control-plane.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfigPath: string;
    controlPlaneDir: string;
    /** https://127.0.0.1:<port>: etcd, which answers only clients with a certificate of its CA. */
    etcdUrl: string;
  }
}

let controlPlane: ControlPlane | undefined;

export async function setup(project: TestProject): Promise<void> {
  controlPlane = await startControlPlane({
    progress: (line) => console.error(`[control plane] ${line}`),
  });
  project.provide('kubeconfigPath', controlPlane.kubeconfigPath);
  project.provide('controlPlaneDir', controlPlane.dir);
  project.provide('etcdUrl', controlPlane.etcdUrl);
}

export async function teardown(): Promise<void> {
  await controlPlane?.stop();
}
