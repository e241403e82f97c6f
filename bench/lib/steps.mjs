import { CONTENDED_PCT, GENERATOR_BOUND_PCT } from './cpu.mjs'

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

/**
 * The suite's primary figure (issue 9) is read at one open-loop step whose server CPU lands in
 * `band` (25..60 %). A calibration step at `guess` (skipped when `cost`, the server CPU-% per
 * message/s of an earlier run, is given) tells what a message costs the server and the generator;
 * the step then runs at the rate that should put the server at `targetPct`, capped so that the
 * generator stays under `generatorCapPct` (a server much cheaper than the generator cannot be
 * loaded further: the miss is reported, not hidden). A step outside the band is re-aimed from its
 * own cost and run again, `attempts` steps in all.
 * `runStep(rate, { calibration })` resolves to a step with `offeredPerSec`, `deliveredPerSec`,
 * `serverCpuPct`, `generatorCpuPct` (and `abort` to stop at once).
 * Resolves to `{ step, steps, inBand, limitedBy, cost }`: `step` is the last measured step,
 * `limitedBy` 'generator' when the cap held the rate down, `cost` the figure to pass next run.
 */
export async function atServerCpu(runStep, options) {
  const {
    guess,
    cost: knownCost = null,
    targetPct = 40,
    band = [25, 60],
    generatorCapPct = 75,
    attempts = 2,
  } = options
  const steps = []
  let cost = knownCost
  let generatorCost = null
  let limitedBy = null
  const learn = (step) => {
    if (step.serverCpuPct > 1 && step.deliveredPerSec > 0) {
      cost = step.serverCpuPct / step.deliveredPerSec
    }
    if (step.generatorCpuPct > 1 && step.offeredPerSec > 0) {
      generatorCost = step.generatorCpuPct / step.offeredPerSec
    }
  }
  const aim = (fallback) => {
    let rate = cost ? targetPct / cost : fallback * 4
    limitedBy = null
    if (generatorCost && rate * generatorCost > generatorCapPct) {
      rate = generatorCapPct / generatorCost
      limitedBy = 'generator'
    }
    return rate
  }
  let rate = guess
  if (cost === null) {
    const calibration = await runStep(guess, { calibration: true })
    steps.push(calibration)
    if (calibration.abort) return { step: calibration, steps, inBand: false, limitedBy, cost }
    learn(calibration)
    rate = aim(guess)
  } else rate = aim(guess)
  let step = null
  for (let attempt = 1; attempt <= attempts; attempt++) {
    step = await runStep(rate, { calibration: false })
    steps.push(step)
    const inBand = step.serverCpuPct >= band[0] && step.serverCpuPct <= band[1]
    if (inBand || step.abort || attempt === attempts) break
    learn(step)
    const next = aim(rate)
    // Held down by the generator already: another step would land in the same place.
    if (limitedBy === 'generator' && next <= rate * 1.05) break
    rate = next
  }
  learn(step)
  const inBand = step.serverCpuPct >= band[0] && step.serverCpuPct <= band[1]
  return { step, steps, inBand, limitedBy, cost }
}

const rounded = (v, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? null
    : Math.round(v * 10 ** digits) / 10 ** digits

/**
 * The common figures of a suite Measurement (bench/run.mjs) from a measured step (`atServerCpu`'s
 * `step`, or any step with `deliveredPerSec`, `serverCpuPct`, `generatorCpuPct`, `contentionPct`,
 * p50Us/p99Us/p999Us): server CPU-µs per delivered message, the delivered rate, latency, CPU
 * shares and the generator-bound / contended flags. With `fixed` (`atServerCpu`'s result), also
 * whether the server's CPU landed in the band and why not.
 */
export function measurementFigures(step, fixed = null, { band = [25, 60] } = {}) {
  if (!step) {
    return {
      cpuUsPerMsg: null,
      ratePerSec: null,
      p50Us: null,
      p99Us: null,
      p999Us: null,
      serverCpuPct: null,
      generatorCpuPct: null,
      generatorBound: null,
      contended: null,
    }
  }
  const delivered = step.deliveredPerSec
  const figures = {
    cpuUsPerMsg:
      step.serverCpuPct !== null && delivered > 0
        ? rounded(((step.serverCpuPct / 100) * 1e6) / delivered, 2)
        : null,
    ratePerSec: rounded(delivered),
    p50Us: step.p50Us ?? null,
    p99Us: step.p99Us ?? null,
    p999Us: step.p999Us ?? null,
    serverCpuPct: rounded(step.serverCpuPct, 1),
    generatorCpuPct: rounded(step.generatorCpuPct, 1),
    generatorBound: step.generatorCpuPct > GENERATOR_BOUND_PCT,
    contended: step.contentionPct > CONTENDED_PCT,
    contentionPct: rounded(step.contentionPct, 1),
    offeredPerSec: rounded(step.offeredPerSec),
    pass: step.pass ?? null,
  }
  if (fixed) {
    figures.inBand = fixed.inBand
    figures.bandMiss = fixed.inBand
      ? null
      : `server CPU ${rounded(step.serverCpuPct)} % outside ${band[0]}..${band[1]} %` +
        (fixed.limitedBy ? ` (rate held down by the ${fixed.limitedBy})` : '')
  }
  return figures
}

/** Server CPU-% per message/s found by earlier runs of the invocation, by `key`. */
const knownCosts = new Map()

const whole = (v) => (v === null || v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US'))

/** One line about a step, for the progress log. */
export function stepLine(step, { label = 'step', unit = 'msgs' } = {}) {
  return (
    `  ${label} ${whole(step.offeredPerSec)} ${unit}/s -> ` +
    `${whole(step.deliveredPerSec)}/s  p50 ${whole(step.p50Us)} µs  p99 ${whole(step.p99Us)} µs` +
    `  CPU server ${whole(step.serverCpuPct)}%  generator ${whole(step.generatorCpuPct)}%` +
    `  ${step.pass === false ? 'FAIL' : 'ok'}` +
    (step.contentionPct > CONTENDED_PCT ? ` (contended ${whole(step.contentionPct)}%)` : '') +
    (step.why ? ` (${step.why})` : '')
  )
}

/**
 * `atServerCpu` for the suite (bench/run.mjs): the calibration runs only for the first run of
 * `key` (server and variant) in the invocation, later runs aim with the cost it found; every step
 * is logged. Resolves to the Measurement's common figures (`measurementFigures`) and `fixed`.
 */
export async function measureAtServerCpu(runStep, { key, guess, profile, log, unit }) {
  const fixed = await atServerCpu(
    async (rate, options) => {
      const step = await runStep(rate, options)
      log(stepLine(step, { label: options.calibration ? 'calibrate' : 'step', unit }))
      return step
    },
    {
      guess,
      cost: knownCosts.get(key) ?? null,
      targetPct: profile.targetCpuPct,
      band: profile.band,
    },
  )
  if (fixed.cost) knownCosts.set(key, fixed.cost)
  return {
    fixed,
    figures: measurementFigures(fixed.step, fixed, { band: profile.band }),
  }
}

/**
 * Traffic for a server process that has just started, before its first measured step. V8 compiles
 * a Node server's hot paths while its first seconds of traffic run, on the same pinned core: a
 * fresh gateway measured 39..43 CPU-µs per ingress message in its first 1.5 s and 28..30 µs after
 * 4.5 s of traffic, and the suite's first step of every fresh process used to land in that window
 * (the "bimodal" ingress figure of earlier reports). Each of `steps` runs one step with the
 * `warmUp` window (`profile.step.serverWarmupMs`), one per kind of traffic the variants send, so
 * code only some variants take is compiled too. Every server gets the same warm-up, Mosquitto
 * included, so the baselines have the same history.
 */
export async function warmUpServer(steps, { log, unit }) {
  for (const step of steps) log(stepLine(await step(), { label: 'warm up', unit }))
}
