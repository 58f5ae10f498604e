// The `repowire` entry. Commands load lazily so that light paths (hooks) start fast.
const main = async () => {
  // Hooks run on every agent tool call: they skip the Effect CLI tree entirely.
  if (process.argv[2] === "hook") {
    const { runHook } = await import("./programs/hook/Main.js")
    process.exitCode = await runHook(process.argv.slice(3))
    return
  }
  const { runCli } = await import("./programs/cli/Main.js")
  runCli(process.argv)
}
void main()
