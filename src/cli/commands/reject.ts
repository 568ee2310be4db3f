/** `portcullis reject ID`: denies a held call. */
import type { Command } from '../command.ts';
import { runVerdict, verdictUsage } from './approval-cli.ts';

export const command: Command = {
  summary: 'Reject a call held for approval',
  usage: verdictUsage('reject'),
  run: (argv, io) => runVerdict('reject', 'rejected', argv, io),
};
