/** `portcullis approve ID`: lets a held call go (it is evaluated again with the approval). */
import type { Command } from '../command.ts';
import { runVerdict, verdictUsage } from './approval-cli.ts';

export const command: Command = {
  summary: 'Approve a call held for approval (or list those waiting)',
  usage: verdictUsage('approve'),
  run: (argv, io) => runVerdict('approve', 'approved', argv, io),
};
