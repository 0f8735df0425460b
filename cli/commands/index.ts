import type { Command } from 'commander';
import { consoleCommand } from './console.ts';
import { controllerCommand } from './controller.ts';
import { deployCommand } from './deploy.ts';
import { devCommand } from './dev.ts';
import { eventsCommand } from './events.ts';
import { gatewayCommand } from './gateway.ts';
import { getCommand } from './get.ts';
import { hostCommand } from './host.ts';
import { initCommand } from './init.ts';
import { invokeCommand } from './invoke.ts';
import { logsCommand } from './logs.ts';
import { rolloutCommand } from './rollout.ts';
import { sidecarCommand } from './sidecar.ts';
import { statsCommand } from './stats.ts';
import { trafficCommand } from './traffic.ts';
import { triggersCommand } from './triggers.ts';

/** Every `roost` subcommand: the user's verbs, then the components they drive. */
export function commands(): Command[] {
  return [
    initCommand(),
    deployCommand(),
    invokeCommand(),
    eventsCommand(),
    logsCommand(),
    statsCommand(),
    getCommand(),
    rolloutCommand(),
    trafficCommand(),
    devCommand(),
    consoleCommand(),
    hostCommand(),
    controllerCommand(),
    gatewayCommand(),
    triggersCommand(),
    sidecarCommand(),
  ];
}
