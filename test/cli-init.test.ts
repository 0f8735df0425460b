// `roost init` scaffolds a function whose own test passes as written: the
// Node one with `npm test`, the Java one with `mvn -q test` (Maven Central
// supplies aws-lambda-java-core and JUnit).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { roost } from './support/roost-cli.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-cli-init-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(command, args, { cwd, encoding: 'utf8', timeout: 240_000 }, (error, stdout, stderr) =>
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        output: stdout + stderr,
      }),
    );
  });
}

test('a Node.js function: index.mjs, package.json and a node:test test that passes with npm test', async () => {
  const target = join(dir, 'greeter');
  const created = await roost(['init', target, '--runtime', 'nodejs']);
  expect(created.code).toBe(0);
  expect(created.stdout).toContain(`Created nodejs function greeter in ${target}`);
  expect(created.stdout).toContain('roost deploy . --name greeter');
  const pkg = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as {
    name: string;
    scripts: { test: string };
  };
  expect(pkg.name).toBe('greeter');
  expect(pkg.scripts.test).toBe('node --test');
  expect(existsSync(join(target, 'index.mjs'))).toBe(true);

  const tested = await run('npm', ['test'], target);
  expect(tested.output).toMatch(/pass 2\b/);
  expect(tested.output).toMatch(/fail 0\b/);
  expect(tested.code).toBe(0);
});

test('a Java function: a Maven project with a RequestHandler and a JUnit test that passes with mvn -q test', async () => {
  const target = join(dir, 'java-greeter');
  const created = await roost(['init', target, '--runtime', 'java']);
  expect(created.code).toBe(0);
  expect(created.stdout).toContain('--handler com.example.JavaGreeter::handleRequest');
  const pom = readFileSync(join(target, 'pom.xml'), 'utf8');
  expect(pom).toMatch(
    /<artifactId>aws-lambda-java-core<\/artifactId>\s*<version>[\d.]+<\/version>\s*<scope>provided<\/scope>/,
  );
  expect(existsSync(join(target, 'src/main/java/com/example/JavaGreeter.java'))).toBe(true);

  const tested = await run('mvn', ['-q', '-B', 'test'], target);
  expect(tested.code, tested.output).toBe(0);
  // Surefire's reports say the tests ran (mvn -q prints nothing on success).
  const report = readFileSync(
    join(target, 'target/surefire-reports/TEST-com.example.JavaGreeterTest.xml'),
    'utf8',
  );
  expect(report).toMatch(/tests="3"[^>]*failures="0"|failures="0"[^>]*tests="3"/);
}, 300_000);
