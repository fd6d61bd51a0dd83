import { type Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../errors.js';

/** Turns a value parser that throws UsageError into one commander reports as an invalid argument. */
export function arg<T>(parse: (text: string) => T): (value: string) => T {
  return (value: string) => {
    try {
      return parse(value);
    } catch (error) {
      if (error instanceof UsageError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

/** An option with a value parser, for one-line declarations. */
export function option<T>(flags: string, description: string, parse: (text: string) => T): Option {
  return new Option(flags, description).argParser(arg(parse));
}

/** An option whose value must be one of `choices` (commander lists them in --help and errors). */
export function choiceOption(flags: string, description: string, choices: readonly string[]): Option {
  return new Option(flags, description).choices(choices);
}

/** Where an option's value came from; only values the user typed override presets and config files. */
export function typedOptions<T extends Record<string, unknown>>(command: Command): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    const source = command.getOptionValueSource(key);
    if (value !== undefined && source !== 'default' && source !== 'implied') out[key] = value;
  }
  return out as Partial<T>;
}
