/** `residency explain <ip>...`: everything the checker knows about addresses, and its judgement. */
import { parseArgs } from 'node:util';
import { loadGeoDatabases, loadOperatorSources } from '../../lambda/adapters/load-geo-database';
import { UsageError } from '../../lambda/engine/errors';
import { parseIp } from '../../lambda/engine/net/ip';
import { evaluateAddress, type AddressFacts } from '../../lambda/engine/policy/evaluate';
import { EXIT_COMPLIANT, EXIT_VIOLATIONS } from './check-command';
import { POLICY_OPTIONS, resolvePolicy } from './options';

export const EXPLAIN_HELP = `Usage: residency explain <ip>... [--jurisdiction LIST | --policy FILE] [--deny LIST] [--local LIST] [--db FILE]... [--json]

For each address: its class (IANA special-purpose registries), every location database's
country, the AS number and organisation operating it, the country that AS is registered in,
and the status the policy gives it. Without a policy, --jurisdiction us is assumed.

Exit status: 0 all allowed or non-public, 1 any violation, 2 error (e.g. not an IP address).
`;

function describe(f: AddressFacts): string {
  const lines = [`${f.ip}`];
  lines.push(`  class:            ${f.addressClass}${f.local ? ' (monitored side)' : ''}`);
  if (f.addressClass === 'public' && !f.local) {
    for (const [db, c] of Object.entries(f.countries)) lines.push(`  location:         ${c ?? 'unknown'} (${db})`);
    if (f.disputed) lines.push('  disputed:         the location databases disagree');
    lines.push(`  operator:         ${f.asn === null ? 'unknown' : `AS${f.asn}${f.asOrganization ? ` ${f.asOrganization}` : ''}`}`);
    lines.push(`  operator country: ${f.operatorCountry ?? 'unknown'}`);
  }
  lines.push(`  status:           ${f.status}${f.rule ? `: ${f.rule}` : ''}`);
  if (f.warning) lines.push(`  warning:          ${f.warning}`);
  return lines.join('\n');
}

/** Runs `explain`; returns the exit code. */
export function explainCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...POLICY_OPTIONS,
      db: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(EXPLAIN_HELP);
    return EXIT_COMPLIANT;
  }
  if (positionals.length === 0) throw new UsageError('explain: name at least one IP address');
  const parsed = positionals.map((text) => {
    const ip = parseIp(text);
    if (!ip) throw new UsageError(`explain: '${text}' is not an IP address`);
    return ip;
  });
  const flags = values.jurisdiction === undefined && values.deny === undefined && values.policy === undefined
    ? { jurisdiction: ['us'], local: values.local }
    : values;
  const policy = resolvePolicy(flags);
  const databases = loadGeoDatabases(values.db ?? []);
  const operator = loadOperatorSources();
  let exit: number = EXIT_COMPLIANT;
  const out: string[] = [];
  for (const ip of parsed) {
    const facts = evaluateAddress(ip, policy, databases, operator);
    if (facts.status === 'violation') exit = EXIT_VIOLATIONS;
    out.push(values.json ? JSON.stringify(facts) : describe(facts));
  }
  process.stdout.write(`${out.join(values.json ? '\n' : '\n\n')}\n`);
  return exit;
}
