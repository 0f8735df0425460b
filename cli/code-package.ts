// The code `roost deploy` ships: a Node.js function packed into a .tgz, or a
// Java function's jar, with its SHA-256. The archive is made the same way
// every time from the same files (sorted entries, fixed mtime, no owner), so
// deploying unchanged code gives the same digest, the same ConfigMap and no
// new revision.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { create } from 'tar';
import type { Runtime } from '../kube/api/roost.ts';
import { usageError } from './errors.ts';

export interface CodePackage {
  runtime: Runtime;
  /** The .tgz or .jar bytes. */
  bytes: Buffer;
  /** The ConfigMap key it is stored under: code.tgz or function.jar. */
  key: string;
  /** Hex SHA-256 of bytes. */
  sha256: string;
  /** What was packed, for messages: a directory, a file or a jar. */
  source: string;
  /** Node.js only: the packed paths, relative, with / separators. */
  files: string[];
  /** The handler to use when --handler is not given (Node.js only). */
  defaultHandler?: string;
}

/**
 * The name a function deployed from `path` gets without --name, as a user
 * would guess it: a Node.js package's own name (without its npm scope), else
 * the directory's or file's name; a jar's name without its version.
 */
export function defaultFunctionName(path: string): string {
  const packageJson = join(path, 'package.json');
  if (existsSync(packageJson)) {
    try {
      const { name } = JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: unknown };
      if (typeof name === 'string' && name) return name.replace(/^@[^/]*\//, '');
    } catch {
      // An unreadable package.json names nothing; the directory still does.
    }
  }
  const base = basename(path.replace(/[/\\]+$/, '') || '.');
  if (base.endsWith('.jar'))
    return base.slice(0, -'.jar'.length).replace(/-\d+(\.\d+)*(-SNAPSHOT)?$/, '');
  return NODE_FILE.test(base) ? base.slice(0, -extname(base).length) : base;
}

/** A ConfigMap holds at most 1 MiB of data (Kubernetes validation counts keys and raw bytes). */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

const NODE_FILE = /\.(m|c)?js$/;
/** Never packed: version control, roost dev's state. */
const SKIPPED = new Set(['.git', '.roost', '.DS_Store']);

/** nodejs or java, from what the path holds; throws a usage error if it cannot tell. */
export function detectRuntime(path: string): Runtime {
  const stat = statOrFail(path);
  if (stat.isFile()) {
    if (path.endsWith('.jar')) return 'java';
    if (NODE_FILE.test(path)) return 'nodejs';
  } else if (stat.isDirectory()) {
    if (existsSync(join(path, 'pom.xml'))) return 'java';
    const names = readdirSync(path);
    if (names.includes('package.json') || names.some((n) => NODE_FILE.test(n))) return 'nodejs';
  }
  throw usageError(
    `Cannot tell the runtime of ${path}: pass --runtime nodejs or java (a directory with package.json or .js files is nodejs; a .jar or a Maven project is java)`,
  );
}

export async function packCode(path: string, runtime: Runtime): Promise<CodePackage> {
  return runtime === 'java' ? packJava(path) : packNode(path);
}

/**
 * Throws unless the package fits a ConfigMap; the advice names the digest to
 * use for a url instead.
 */
export function checkFitsConfigMap(pkg: CodePackage): void {
  const size = pkg.bytes.length + pkg.key.length;
  if (size <= CONFIGMAP_MAX_BYTES) return;
  throw usageError(
    `Cannot deploy ${pkg.source}: its code is ${mib(pkg.bytes.length)} packed, more than the ${mib(CONFIGMAP_MAX_BYTES)} a ConfigMap holds. ` +
      `Serve the ${pkg.key.endsWith('.jar') ? 'jar' : '.tgz'} from a URL the host pods can reach and set spec.function.code.url to it with sha256: ${pkg.sha256} in a SandboxDeployment (kubectl apply)`,
  );
}

async function packNode(path: string): Promise<CodePackage> {
  const stat = statOrFail(path);
  let cwd: string;
  let files: string[];
  let defaultHandler = 'index.handler';
  if (stat.isFile()) {
    if (!NODE_FILE.test(path))
      throw usageError(
        `Cannot deploy ${path} as Node.js: give a directory or a .js, .mjs or .cjs file`,
      );
    cwd = dirname(path);
    files = [basename(path)];
    // A single file's handler is named by the file, as in Lambda: app.mjs -> app.handler.
    defaultHandler = `${basename(path, extname(path))}.handler`;
  } else {
    cwd = path;
    files = listFiles(path);
    if (files.length === 0) throw usageError(`Cannot deploy ${path}: the directory is empty`);
  }
  const chunks: Buffer[] = [];
  const stream = create(
    { cwd, gzip: true, portable: true, mtime: new Date(0), noDirRecurse: true },
    files,
  );
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  return {
    runtime: 'nodejs',
    bytes,
    key: 'code.tgz',
    sha256: sha256(bytes),
    source: path,
    files,
    defaultHandler,
  };
}

function packJava(path: string): CodePackage {
  const stat = statOrFail(path);
  let jar: string;
  if (stat.isFile()) {
    if (!path.endsWith('.jar'))
      throw usageError(
        `Cannot deploy ${path} as Java: give a .jar file or a Maven project directory`,
      );
    jar = path;
  } else {
    if (!existsSync(join(path, 'pom.xml')))
      throw usageError(
        `Cannot deploy ${path} as Java: it has no pom.xml; give the .jar file instead`,
      );
    jar = builtJar(path);
  }
  const bytes = readFileSync(jar);
  return {
    runtime: 'java',
    bytes,
    key: 'function.jar',
    sha256: sha256(bytes),
    source: jar,
    files: [],
  };
}

/** The jar a Maven build left in target/, leaving aside shade's original-*.jar and classifier jars. */
function builtJar(project: string): string {
  const target = join(project, 'target');
  const jars = existsSync(target)
    ? readdirSync(target).filter(
        (name) =>
          name.endsWith('.jar') &&
          !name.startsWith('original-') &&
          !/-(sources|javadoc|tests)\.jar$/.test(name),
      )
    : [];
  if (jars.length === 0)
    throw usageError(
      `Cannot deploy ${project}: the Maven project is not built (no jar in ${target}); run \`mvn -q package\` in it first`,
    );
  if (jars.length > 1)
    throw usageError(
      `Cannot deploy ${project}: ${target} holds several jars (${jars.join(', ')}); give the one to deploy`,
    );
  return join(target, jars[0]!);
}

/** Every regular file under dir, sorted, with / separators; links are refused, as the sidecar would. */
function listFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      if (SKIPPED.has(name)) continue;
      const full = join(current, name);
      const stat = lstatSync(full);
      if (stat.isSymbolicLink())
        throw usageError(
          `Cannot pack ${full}: it is a symbolic link, which the sidecar refuses in function code; copy the file instead`,
        );
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) found.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return found;
}

function statOrFail(path: string) {
  try {
    return statSync(path);
  } catch {
    throw usageError(`Cannot deploy ${path}: no such file or directory`);
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Fails early, as the sidecar would later, when a Node.js handler's module is not in the package. */
export function checkNodeHandler(pkg: CodePackage, handler: string): void {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0 || dot === handler.length - 1)
    throw usageError(
      `Cannot use handler "${handler}": write it as <module>.<export>, such as index.handler`,
    );
  const module = handler.slice(0, dot);
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => module + ext);
  if (!candidates.some((file) => pkg.files.includes(file)))
    throw usageError(
      `Cannot use handler ${handler}: ${pkg.source} has none of ${candidates.join(', ')}; pass --handler <module>.<export>`,
    );
}
