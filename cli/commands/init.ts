// `roost init <dir> --runtime nodejs|java`: a new function with a test that
// passes as written (npm test, or mvn -q test), and the commands to deploy it.
import { Command, Option } from 'commander';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Runtime } from '../../kube/api/roost.ts';
import { usageError } from '../errors.ts';
import { javaHandler, javaScaffold } from '../scaffold/java.ts';
import { nodejsScaffold } from '../scaffold/nodejs.ts';

interface InitFlags {
  runtime: Runtime;
  name?: string;
}

const FUNCTION_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function initCommand(): Command {
  return new Command('init')
    .description('Create a new function with a test, ready for `roost deploy`.')
    .argument('<dir>', 'directory to create (it must not exist, or be empty)')
    .addOption(
      new Option('--runtime <runtime>', 'nodejs or java')
        .choices(['nodejs', 'java'])
        .makeOptionMandatory(),
    )
    .option('--name <name>', 'function name (default: the directory name)')
    .action((dir: string, flags: InitFlags) => {
      const name = flags.name ?? basename(resolve(dir));
      if (!FUNCTION_NAME.test(name))
        throw usageError(
          `Cannot name a function "${name}": use lower-case letters, digits and '-' (pass --name)`,
        );
      if (existsSync(dir) && readdirSync(dir).length > 0)
        throw usageError(
          `Cannot create a function in ${dir}: it is not empty; choose a new directory`,
        );
      const files = flags.runtime === 'java' ? javaScaffold(name) : nodejsScaffold(name);
      for (const [path, text] of Object.entries(files)) {
        const target = join(dir, path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, text);
      }
      process.stdout.write(`Created ${flags.runtime} function ${name} in ${dir}:\n`);
      for (const path of Object.keys(files)) process.stdout.write(`  ${path}\n`);
      process.stdout.write(`\nNext:\n  cd ${dir}\n${nextSteps(flags.runtime, name)}`);
    });
}

function nextSteps(runtime: Runtime, name: string): string {
  if (runtime === 'java')
    return `  mvn -q test && mvn -q package\n  roost deploy . --name ${name} --handler ${javaHandler(name)}\n  roost invoke ${name} --http --path '/?name=you'\n`;
  return `  npm test\n  roost deploy . --name ${name}\n  roost invoke ${name} --http --path '/?name=you'\n`;
}
