// Preloaded into the measured process (node -r): prints its peak RSS and CPU time at exit.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`RUSAGE maxRSS_kB=${u.maxRSS} user_us=${u.userCPUTime} system_us=${u.systemCPUTime}\n`);
});
