import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { javaAvailability } from './java-availability.ts';

const dir = mkdtempSync(join(tmpdir(), 'roost-java-availability-'));
const withJava = join(dir, 'jdk');
const withoutJava = join(dir, 'empty');
const jar = join(dir, 'roost-java-bridge.jar');
mkdirSync(join(withJava, 'bin'), { recursive: true });
mkdirSync(withoutJava);
writeFileSync(join(withJava, 'bin', 'java'), '#!/bin/sh\n');
chmodSync(join(withJava, 'bin', 'java'), 0o755);
writeFileSync(jar, '');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('javaAvailability', () => {
  test('a java launcher in JAVA_HOME and the bridge jar: java is offered', () => {
    const found = javaAvailability({ JAVA_HOME: withJava, ROOST_JAVA_BRIDGE_JAR: jar });
    expect(found.available).toBe(true);
    expect(found.reason).toContain(join(withJava, 'bin', 'java'));
  });

  test('java on PATH counts when JAVA_HOME is not set', () => {
    const path = [withoutJava, join(withJava, 'bin')].join(':');
    expect(javaAvailability({ PATH: path, ROOST_JAVA_BRIDGE_JAR: jar }).available).toBe(true);
  });

  test('a JAVA_HOME without bin/java: not offered, and says where it looked', () => {
    expect(javaAvailability({ JAVA_HOME: withoutJava, ROOST_JAVA_BRIDGE_JAR: jar })).toEqual({
      available: false,
      reason: `no java launcher at $JAVA_HOME/bin/java (${withoutJava})`,
    });
  });

  test('no java anywhere: not offered', () => {
    expect(javaAvailability({ PATH: withoutJava }).reason).toBe(
      'no java launcher on PATH and JAVA_HOME is not set',
    );
  });

  test('java but no bridge jar: not offered, with the command that builds it', () => {
    const missing = join(dir, 'missing.jar');
    const found = javaAvailability({ JAVA_HOME: withJava, ROOST_JAVA_BRIDGE_JAR: missing });
    expect(found.available).toBe(false);
    expect(found.reason).toContain(`${missing} is missing (npm run build:java`);
  });
});
