import { Command } from 'commander';
import { benchCommand } from './commands/bench.js';
import { crfCommand } from './commands/crf.js';
import { dataCommand } from './commands/data.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { infoCommand } from './commands/info.js';
import { predictCommand } from './commands/predict.js';
import { trainCommand } from './commands/train.js';
import { cliVersion } from './version.js';

/** Errors are printed by main() as one line, so commander only throws them. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ outputError: () => {} });
  for (const sub of command.commands) quiet(sub);
  return command;
}

export function createProgram(): Command {
  const program = new Command('semseg')
    .description(
      'Semantic segmentation in TypeScript: train, evaluate and run FCN (and every model registered ' +
        'with @semseg/core) on PASCAL VOC-layout data, with dense CRF post-processing.',
    )
    .version(cliVersion(), '-V, --version')
    .option('--debug', 'print stack traces of errors')
    .showSuggestionAfterError(true)
    .addCommand(trainCommand())
    .addCommand(evalCommand())
    .addCommand(predictCommand())
    .addCommand(importCommand())
    .addCommand(exportCommand())
    .addCommand(crfCommand())
    .addCommand(dataCommand())
    .addCommand(infoCommand())
    .addCommand(benchCommand())
    .addCommand(demoCommand())
    .addHelpText(
      'after',
      '\nStart with `semseg demo` (synthetic data, a few minutes on a CPU) or `semseg info` (backends).\n' +
        'Every command has --help.',
    );
  // --debug may follow the subcommand too.
  for (const sub of program.commands) sub.option('--debug', 'print stack traces of errors');
  return quiet(program);
}
