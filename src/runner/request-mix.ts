/**
 * Which request of a mix goes next. Smooth weighted round-robin (as nginx balances upstreams): over every
 * Σweights consecutive picks each request is picked exactly `weight` times, spread out evenly rather than in
 * bursts, so the counts of a run follow the weights to within one cycle whatever its length — no randomness
 * to tolerate in tests or to explain in results.
 */
export class WeightedRoundRobin {
  private readonly current: Float64Array;
  private readonly total: number;

  /** @param weights non-negative, summing to more than 0; a request of weight 0 is never picked */
  constructor(private readonly weights: readonly number[]) {
    this.total = weights.reduce((sum, weight) => sum + weight, 0);
    if (!(this.total > 0) || weights.some((weight) => !(weight >= 0))) {
      throw new RangeError('weights must be non-negative and sum to more than 0');
    }
    this.current = new Float64Array(weights.length);
  }

  next(): number {
    const { weights, current } = this;
    if (weights.length === 1) return 0;
    let best = 0;
    for (let index = 0; index < weights.length; index++) {
      current[index] = current[index]! + weights[index]!;
      if (current[index]! > current[best]!) best = index;
    }
    current[best] = current[best]! - this.total;
    return best;
  }
}
