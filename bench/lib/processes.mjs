import { execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * A bench process (node script) pinned to one core with taskset, driven over IPC. The child sends
 * `{ type }` messages; `{ type: 'error', message }` fails every pending and later wait.
 * `script` is a file URL or an absolute path.
 */
export function spawnPinned(script, core, { args = [], nodeArgs = [], env } = {}) {
  const path = script instanceof URL ? fileURLToPath(script) : script
  const proc = spawn(
    'taskset',
    ['-c', String(core), process.execPath, ...nodeArgs, path, ...args],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    },
  )
  const queue = []
  const waiters = []
  let failure = null
  const fail = (error) => {
    failure ??= error
    for (const waiter of waiters.splice(0)) waiter.reject(failure)
  }
  proc.on('message', (message) => {
    if (message.type === 'error') return fail(new Error(`${path}: ${message.message}`))
    const at = waiters.findIndex((w) => w.type === message.type)
    if (at >= 0) waiters.splice(at, 1)[0].resolve(message)
    else queue.push(message)
  })
  const exited = new Promise((resolve) => proc.on('exit', resolve))
  proc.on('exit', (code, signal) => fail(new Error(`${path} exited (${code ?? signal})`)))

  return {
    pid: proc.pid,
    send: (message) => proc.send(message),
    /** The next message of `type`, already received or still to come. */
    next(type) {
      const at = queue.findIndex((m) => m.type === type)
      if (at >= 0) return Promise.resolve(queue.splice(at, 1)[0])
      if (failure) return Promise.reject(failure)
      return new Promise((resolve, reject) => waiters.push({ type, resolve, reject }))
    },
    /** Sends `{ cmd, ... }` and waits for the answer of type `cmd`. */
    request(message) {
      proc.send(message)
      return this.next(message.cmd)
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.send({ cmd: 'exit' })
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}

/** Pins this process (all its threads) to `core`. */
export function pinSelf(core) {
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], {
    stdio: 'ignore',
  })
}

/**
 * The child side of the IPC protocol: runs `commands[message.cmd](message)` and answers
 * `{ type: cmd, ...result }`; `exit` calls `onExit` and leaves.
 */
export function serveCommands(commands, onExit = () => {}) {
  process.on('message', (message) => {
    if (message.cmd === 'exit') {
      void Promise.resolve()
        .then(onExit)
        .finally(() => process.exit(0))
      return
    }
    const command = commands[message.cmd]
    if (!command) {
      process.send({ type: 'error', message: `unknown command ${message.cmd}` })
      return
    }
    Promise.resolve()
      .then(() => command(message))
      .then(
        (result) => process.send({ type: message.cmd, ...result }),
        (error) => process.send({ type: 'error', message: error.stack ?? String(error) }),
      )
  })
}
