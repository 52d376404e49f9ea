/** `residency policy validate <file>` and `residency policy show <preset>`. */
import { UsageError } from '../../lambda/engine/errors';
import { policyFromLists } from '../../lambda/engine/policy/policy';
import { findPolicyPreset, findPreset, listPolicyPresets, listPresets } from '../../lambda/engine/policy/presets';
import { resolvePolicy } from './options';

export const POLICY_HELP = `Usage:
  residency policy validate <file>   check a policy file; prints the effective policy and its hash
  residency policy show <preset>     print a preset as a policy file you can edit
  residency policy list              list the presets
`;

/** Runs `policy ...`; returns the exit code. */
export function policyCommand(argv: string[]): number {
  const [sub, arg, ...rest] = argv;
  // `policy show --help` asks for help, not for a preset named --help.
  if (sub === undefined || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(POLICY_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (rest.length > 0) throw new UsageError(`policy ${sub}: unexpected argument '${rest[0]}'`);
  if (sub === 'list') {
    if (arg !== undefined) throw new UsageError(`policy list: unexpected argument '${arg}'`);
    process.stdout.write('Country sets (for --jurisdiction, --deny, allowedCountries, deniedCountries):\n');
    for (const p of listPresets()) process.stdout.write(`  ${p.name.padEnd(20)} ${p.description}\n`);
    process.stdout.write('Policies (for --policy and RESIDENCY_POLICY):\n');
    for (const p of listPolicyPresets()) process.stdout.write(`  ${p.name.padEnd(20)} ${p.description}\n`);
    return 0;
  }
  if (sub !== 'validate' && sub !== 'show') {
    throw new UsageError(`policy: unknown subcommand '${sub}' (validate, show, list)`);
  }
  if (arg === undefined) throw new UsageError(`policy ${sub}: missing argument (see residency policy --help)`);
  if (sub === 'validate') {
    // As --policy reads it: a file, else a policy preset of that name.
    const compiled = resolvePolicy({ policy: [arg] });
    process.stdout.write(`${arg}: valid policy, sha256 ${compiled.sha256}\n`);
    process.stdout.write(`${JSON.stringify(compiled.policy, null, 2)}\n`);
    return 0;
  }
  // show
  const policyPreset = findPolicyPreset(arg);
  if (policyPreset) {
    process.stdout.write(`${JSON.stringify(policyPreset.policy, null, 2)}\n`);
    return 0;
  }
  const preset = findPreset(arg);
  if (!preset) {
    throw new UsageError(`policy show: unknown preset '${arg}' (known: ${[...listPresets(), ...listPolicyPresets()].map((p) => p.name).join(', ')})`);
  }
  const isDeny = preset.denyOnly === true;
  const policy = isDeny ? policyFromLists(undefined, preset.name) : policyFromLists(preset.name, undefined);
  const file = {
    name: preset.description,
    ...(isDeny ? { deniedCountries: [preset.name] } : { allowedCountries: [preset.name] }),
    unknown: policy.unknown,
    localNetworks: policy.localNetworks,
  };
  process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
  process.stderr.write(`# ${preset.name}: ${preset.countries.join(', ')}\n`);
  return 0;
}
