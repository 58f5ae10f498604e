// The `repowire` entry. Commands load lazily so that light paths (hooks) start fast.
const main = async () => {
  const { runCli } = await import("./programs/cli/Main.js")
  runCli(process.argv)
}
void main()
