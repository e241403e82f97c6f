/**
 * Open-loop rate search around a capacity estimate: steps at `factors` × estimate, upwards, stop at
 * the first failed step, then (when `bisect`) one step half-way between the best pass and the
 * failure. When even the lowest factor fails, steps down through `lowFactors`; when the highest
 * passes, climbs by 1.25× (`extraSteps` times at most). With `confirm`, a failed step is run once
 * more and the second result counts.
 * `runStep(rate)` resolves to a step with `pass`, `offeredPerSec` (and `abort` to stop at once).
 */
export async function searchRate(runStep, estimate, options = {}) {
  const {
    factors = [0.5, 0.65, 0.8, 0.9, 1, 1.1, 1.2, 1.35, 1.5, 1.75, 2],
    lowFactors = [0.35, 0.25, 0.15, 0.1],
    bisect = true,
    extraSteps = 4,
    confirm = false,
  } = options
  const steps = []
  const attempt = async (rate) => {
    const step = await runStep(rate)
    steps.push(step)
    if (!confirm || step.pass || step.abort) return step
    const again = await runStep(rate)
    steps.push(again)
    return again
  }
  let best = null
  let failed = null
  for (const factor of factors) {
    const step = await attempt(estimate * factor)
    if (step.abort) return { best, steps }
    if (!step.pass) {
      failed = step
      break
    }
    best = step
  }
  // Every factor passed: the estimate was low (a contended burst, say); keep climbing.
  for (let extra = 0; extra < extraSteps && best && !failed; extra++) {
    const step = await attempt(best.offeredPerSec * 1.25)
    if (step.abort) return { best, steps }
    if (step.pass) best = step
    else failed = step
  }
  if (!best) {
    for (const factor of lowFactors) {
      const step = await attempt(estimate * factor)
      if (step.abort) return { best, steps }
      if (step.pass) {
        best = step
        break
      }
      failed = step
    }
  }
  if (bisect && best && failed) {
    const step = await attempt((best.offeredPerSec + failed.offeredPerSec) / 2)
    if (step.pass) best = step
  }
  return { best, steps }
}
