import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { list } from 'tar';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  checkFitsConfigMap,
  checkNodeHandler,
  defaultFunctionName,
  CONFIGMAP_MAX_BYTES,
  detectRuntime,
  packCode,
} from './code-package.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-pack-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, text: string | Buffer = '') {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), text);
}

async function entries(archive: Buffer): Promise<string[]> {
  const file = join(dir, 'out.tgz');
  writeFileSync(file, archive);
  const names: string[] = [];
  await list({ file, onReadEntry: (entry) => void names.push(entry.path) });
  return names;
}

describe('runtime detection', () => {
  test.each([
    ['a directory with package.json', 'fn/package.json', 'fn', 'nodejs'],
    ['a directory with .mjs files', 'fn/index.mjs', 'fn', 'nodejs'],
    ['a single .cjs file', 'app.cjs', 'app.cjs', 'nodejs'],
    ['a Maven project', 'fn/pom.xml', 'fn', 'java'],
    ['a jar', 'f.jar', 'f.jar', 'java'],
  ])('%s is %s', (_, file, path, runtime) => {
    write(file);
    expect(detectRuntime(join(dir, path))).toBe(runtime);
  });

  test('anything else asks for --runtime', () => {
    write('fn/README.md');
    expect(() => detectRuntime(join(dir, 'fn'))).toThrow(/pass --runtime nodejs or java/);
  });
});

describe('Node.js packages', () => {
  test('the same files pack to the same digest, whatever their mtimes', async () => {
    write('fn/index.mjs', 'export const handler = async () => 1;');
    write('fn/lib/util.js', 'module.exports = {};');
    write('fn/.git/HEAD', 'ref: x');
    const first = await packCode(join(dir, 'fn'), 'nodejs');
    utimesSync(join(dir, 'fn/index.mjs'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const second = await packCode(join(dir, 'fn'), 'nodejs');
    expect(second.sha256).toBe(first.sha256);
    expect(first.files).toEqual(['index.mjs', 'lib/util.js']);
    expect(await entries(first.bytes)).toEqual(['index.mjs', 'lib/util.js']);
    write('fn/index.mjs', 'export const handler = async () => 2;');
    expect((await packCode(join(dir, 'fn'), 'nodejs')).sha256).not.toBe(first.sha256);
  });

  test("a single file's handler defaults to its own name", async () => {
    write('app.mjs', 'export const handler = async () => 1;');
    const pkg = await packCode(join(dir, 'app.mjs'), 'nodejs');
    expect(pkg.defaultHandler).toBe('app.handler');
    expect(await entries(pkg.bytes)).toEqual(['app.mjs']);
  });

  test('a handler whose module is not in the package is refused before deploying', async () => {
    write('fn/main.js', '');
    const pkg = await packCode(join(dir, 'fn'), 'nodejs');
    expect(() => checkNodeHandler(pkg, 'index.handler')).toThrow(
      /has none of index\.js, index\.mjs, index\.cjs; pass --handler/,
    );
    expect(() => checkNodeHandler(pkg, 'main.handler')).not.toThrow();
  });
});

describe('Java packages', () => {
  test("a Maven project ships its built jar, not shade's original-*.jar", async () => {
    write('fn/pom.xml');
    write('fn/target/fn.jar', 'jar bytes');
    write('fn/target/original-fn.jar', 'other');
    const pkg = await packCode(join(dir, 'fn'), 'java');
    expect(pkg.bytes.toString()).toBe('jar bytes');
    expect(pkg.key).toBe('function.jar');
  });

  test('an unbuilt Maven project says to build it', async () => {
    write('fn/pom.xml');
    await expect(packCode(join(dir, 'fn'), 'java')).rejects.toThrow(
      /run `mvn -q package` in it first/,
    );
  });
});

test('code over what a ConfigMap holds is refused with the advice to use a url and its sha256', async () => {
  write('big/index.mjs', 'export const handler = async () => 1;');
  // Random bytes do not compress: the package stays over the limit.
  write('big/blob.bin', randomBytes(CONFIGMAP_MAX_BYTES + 1024));
  const pkg = await packCode(join(dir, 'big'), 'nodejs');
  expect(() => checkFitsConfigMap(pkg)).toThrow(
    new RegExp(
      `more than the 1\\.0 MiB a ConfigMap holds.*spec\\.function\\.code\\.url.*sha256: ${pkg.sha256}`,
    ),
  );
  write('small/index.mjs', readFileSync(join(dir, 'big/index.mjs')));
  const small = await packCode(join(dir, 'small'), 'nodejs');
  expect(() => checkFitsConfigMap(small)).not.toThrow();
});

describe('the name a function gets without --name', () => {
  test("a package's own name, without its npm scope; else the directory's or file's; a jar's without its version", () => {
    write('orders/package.json', JSON.stringify({ name: '@shop/order-api' }));
    expect(defaultFunctionName(join(dir, 'orders'))).toBe('order-api');
    write('plain/index.js');
    expect(defaultFunctionName(join(dir, 'plain'))).toBe('plain');
    expect(defaultFunctionName(join(dir, 'plain/'))).toBe('plain');
    write('broken/package.json', '{ not json');
    expect(defaultFunctionName(join(dir, 'broken'))).toBe('broken');
    expect(defaultFunctionName(join(dir, 'tools', 'resize.mjs'))).toBe('resize');
    expect(defaultFunctionName(join(dir, 'hello-fn-1.2.0-SNAPSHOT.jar'))).toBe('hello-fn');
    expect(defaultFunctionName(join(dir, 'Hello_World.jar'))).toBe('Hello_World');
  });
});
