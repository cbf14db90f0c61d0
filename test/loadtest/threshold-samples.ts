/** Threshold strings for the tests that check every door answers them alike. */

/** Every combination of plausible and implausible parts: ~6000 strings, many of them near misses. */
export function generatedThresholds(): string[] {
  const metrics = ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'mean', 'errorRate', 'rps', 'p98', 'errorrate', 'RPS'];
  const operators = ['<', '<=', '>', '>=', '=', '=>'];
  const numbers = ['5', '0.25', '1.', '-1'];
  const units = ['', 'ms', 's', 'us', '%', 'm', 'ns', 'MS'];
  const found: string[] = [];
  for (const metric of metrics)
    for (const operator of operators)
      for (const number of numbers)
        for (const unit of units)
          found.push(`${metric} ${operator} ${number}${unit}`, ` ${metric}${operator}${number} ${unit}`);
  return found;
}
