const main = async () => {
  const { runCli } = await import("./programs/cli/Main.js")
  runCli(process.argv)
}
void main()
