import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  DEFAULT_GATEWAY_URL,
  localToken,
  resolveGatewayUrl,
  resolveKubeconfig,
  resolveNamespace,
  type Surroundings,
} from './context.ts';
import { CliError, ExitCode } from './errors.ts';

let dir: string;
let where: Surroundings;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-context-'));
  mkdirSync(join(dir, 'work'));
  mkdirSync(join(dir, 'home'));
  where = { env: {}, cwd: join(dir, 'work'), home: join(dir, 'home') };
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeDevState(state: object) {
  mkdirSync(join(where.cwd, '.roost'), { recursive: true });
  writeFileSync(join(where.cwd, '.roost', 'dev.json'), JSON.stringify(state));
}

describe('kubeconfig', () => {
  test('--kubeconfig comes first, then KUBECONFIG (a list), then roost dev, then ~/.kube/config', () => {
    mkdirSync(join(where.home, '.kube'));
    writeFileSync(join(where.home, '.kube', 'config'), '');
    expect(resolveKubeconfig(undefined, where)).toEqual({
      files: [join(where.home, '.kube', 'config')],
      source: '~/.kube/config',
    });
    mkdirSync(join(where.cwd, '.roost'));
    writeFileSync(join(where.cwd, '.roost', 'kubeconfig'), '');
    expect(resolveKubeconfig(undefined, where).source).toBe('.roost/kubeconfig');
    writeDevState({ kubeconfig: '.roost/other' });
    expect(resolveKubeconfig(undefined, where).files).toEqual([join(where.cwd, '.roost/other')]);
    where.env.KUBECONFIG = `/a:/b`;
    expect(resolveKubeconfig(undefined, where)).toEqual({
      files: ['/a', '/b'],
      source: 'KUBECONFIG',
    });
    expect(resolveKubeconfig('/flag', where)).toEqual({ files: ['/flag'], source: '--kubeconfig' });
  });

  test('none anywhere is the "cannot reach" error, with what to do', () => {
    let error: unknown;
    try {
      resolveKubeconfig(undefined, where);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.unreachable);
    expect((error as CliError).message).toContain('roost dev');
  });
});

describe('namespace', () => {
  test('-n, else the current context namespace, else default', () => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: 'team-a' }],
      currentContext: 'x',
    });
    expect(resolveNamespace('flag-ns', config)).toBe('flag-ns');
    expect(resolveNamespace(undefined, config)).toBe('team-a');
    expect(resolveNamespace(undefined, undefined)).toBe('default');
  });
});

describe('gateway URL', () => {
  test('--gateway, ROOST_GATEWAY, .roost/dev.json, then 127.0.0.1:8080', () => {
    expect(resolveGatewayUrl(undefined, where)).toBe(DEFAULT_GATEWAY_URL);
    writeDevState({ gateway: { url: 'http://127.0.0.1:9999' } });
    expect(resolveGatewayUrl(undefined, where)).toBe('http://127.0.0.1:9999');
    where.env.ROOST_GATEWAY = 'http://gw.example:80/';
    expect(resolveGatewayUrl(undefined, where)).toBe('http://gw.example');
    expect(resolveGatewayUrl('http://10.0.0.1:8080', where)).toBe('http://10.0.0.1:8080');
  });

  test('a malformed URL is a usage error', () => {
    expect(() => resolveGatewayUrl('not a url', where)).toThrow(/write it as http:\/\/host:port/);
  });
});

describe('token', () => {
  test('--token-file, ROOST_INVOKE_TOKEN, .roost/dev.json; none leaves the Secret to ask', () => {
    expect(localToken(undefined, where)).toBeUndefined();
    writeDevState({ token: 'from-dev' });
    expect(localToken(undefined, where)).toBe('from-dev');
    where.env.ROOST_INVOKE_TOKEN = 'from-env';
    expect(localToken(undefined, where)).toBe('from-env');
    writeFileSync(join(dir, 'token'), 'from-file\n');
    expect(localToken(join(dir, 'token'), where)).toBe('from-file');
  });

  test('a malformed .roost/dev.json says which file and what to do', () => {
    mkdirSync(join(where.cwd, '.roost'));
    writeFileSync(join(where.cwd, '.roost', 'dev.json'), '{not json');
    expect(() => localToken(undefined, where)).toThrow(/Cannot read .*dev\.json.*roost dev/);
  });
});
