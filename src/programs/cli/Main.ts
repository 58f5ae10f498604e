export const runCli = (argv: ReadonlyArray<string>) => {
  console.log("repowire", argv.slice(2).join(" "))
}
