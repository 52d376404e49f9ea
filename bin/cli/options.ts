/** Shared option handling for the CLI commands. */
import { readFileSync } from 'node:fs';
import { PolicyError, UsageError } from '../../lambda/engine/errors';
import { compilePolicy, overlapNote, parsePolicyJson, policyFromLists, policyFromPreset, policyNotes, withLocalNetworks, type CompiledPolicy, type Policy } from '../../lambda/engine/policy/policy';
import { COLUMN_KEYS } from '../../lambda/engine/parsers/generic-csv';
import { vpcFormatFields } from '../../lambda/engine/parsers/vpc-flow';
import { printable } from '../../lambda/engine/verdict/render-summary';
import { notRegularFile } from '../../lambda/adapters/regular-file';

/** One line on standard error about something that does not stop the command. */
export function printWarning(message: string): void {
  process.stderr.write(`residency: warning: ${printable(message)}\n`);
}

/** Options every policy-taking command accepts. */
export interface PolicyFlags {
  jurisdiction?: string[];
  deny?: string[];
  policy?: string[];
  /** Networks added to the policy's `localNetworks` (either way the policy was given). */
  local?: string[];
}

/** The `parseArgs` descriptors of the policy flags. */
export const POLICY_OPTIONS = {
  jurisdiction: { type: 'string', short: 'j', multiple: true },
  deny: { type: 'string', multiple: true },
  policy: { type: 'string', short: 'p', multiple: true },
  local: { type: 'string', multiple: true },
} as const;

/**
 * Builds the policy from `--jurisdiction`/`--deny` or `--policy FILE`; `--policy` also takes a
 * policy preset name (`us-gov-drone`) when no file of that name exists.
 */
export function resolvePolicy(flags: PolicyFlags): CompiledPolicy {
  const policy = policyOfFlags(flags);
  if (flags.local === undefined) return compilePolicy(policy);
  // Repeated or comma-separated; an empty one is an error (an unset variable), as for -j.
  const networks = flags.local.flatMap((v) => v.split(',')).map((v) => v.trim());
  if (networks.some((v) => v === '')) throw new UsageError('--local: expected CIDR networks (or non-public), such as 2600:1f18:4a3:6900::/56');
  const local = withLocalNetworks(policy, networks);
  for (const note of policyNotes({ localNetworks: networks })) printWarning(note.replace(/^localNetworks\[\d+\]/, '--local'));
  return compilePolicy(local);
}

function policyOfFlags(flags: PolicyFlags): Policy {
  if (flags.policy !== undefined) {
    if (flags.jurisdiction !== undefined || flags.deny !== undefined) {
      throw new UsageError('give either --policy FILE or --jurisdiction/--deny, not both');
    }
    if (flags.policy.length > 1) throw new UsageError('--policy: give one policy file, not several');
    const file = flags.policy[0]!;
    let text: string;
    const notFile = notRegularFile(file);
    if (notFile !== null) throw new PolicyError(`${file}: cannot read policy file (${notFile})`);
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const preset = code === 'ENOENT' ? policyFromPreset(file) : undefined;
      if (preset) return preset;
      throw new PolicyError(`${file}: cannot read policy file (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`);
    }
    const notes: string[] = [];
    const policy = parsePolicyJson(text, file, notes);
    const overlap = overlapNote(policy);
    if (overlap !== null) notes.push(`${file}: ${overlap}`);
    for (const note of notes) printWarning(note);
    return policy;
  }
  if (flags.jurisdiction === undefined && flags.deny === undefined) {
    throw new UsageError('no policy: give --jurisdiction (e.g. us, eu, US,CA), --deny, or --policy FILE');
  }
  // Repeated, a list flag adds to itself (-j us -j ca is -j us,ca), as a comma does; an empty one
  // among them is still an error.
  const joined = (values: string[] | undefined): string | undefined =>
    values === undefined ? undefined : values.some((v) => v.trim() === '') ? '' : values.join(',');
  let policy;
  try {
    policy = policyFromLists(joined(flags.jurisdiction), joined(flags.deny));
  } catch (err) {
    if (err instanceof PolicyError) {
      const flag = flags.deny !== undefined && /deniedCountries/.test(err.message) ? '--deny' : '--jurisdiction';
      throw new PolicyError(err.message.replace(/^(allowed|denied)Countries(\[\d+\])?/, flag));
    }
    throw err;
  }
  const overlap = overlapNote(policy);
  if (overlap !== null) printWarning(`--jurisdiction and --deny: ${overlap}`);
  return policy;
}

/** Parses `--vpc-format '${version} ${srcaddr} ...'` into field names (see vpcFormatFields). */
export function parseVpcFormat(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  try {
    return vpcFormatFields(text);
  } catch (err) {
    throw new UsageError(`--vpc-format: ${(err as Error).message}`);
  }
}

/** Parses `--columns dst=remote_ip,bytes_out=tx`. */
export function parseColumns(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) {
      throw new UsageError(`--columns: expected name=column pairs such as dst=remote_ip, got '${part}'`);
    }
    const key = part.slice(0, eq).trim();
    const column = part.slice(eq + 1).trim();
    // Known before any file is read: a typo is one usage error, not an error verdict per input.
    if (!(COLUMN_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(`--columns: unknown key '${key}' in '${part}' (expected one of ${COLUMN_KEYS.join(', ')})`);
    }
    // Said twice, the mapping says two things: the last would win without a word.
    if (Object.hasOwn(out, key)) {
      throw new UsageError(`--columns: ${key} is mapped twice ('${out[key]}' and '${column}')`);
    }
    out[key] = column;
  }
  return out;
}

/** Whether to colour output: only on a terminal, never with NO_COLOR or --no-color. */
export function useColor(stream: NodeJS.WriteStream, noColorFlag: boolean | undefined): boolean {
  if (noColorFlag) return false;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}
