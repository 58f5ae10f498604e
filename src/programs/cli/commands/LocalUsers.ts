import * as fs from "node:fs"
import * as os from "node:os"

const NO_LOGIN = /(nologin|false|sync|halt|shutdown)$/

/**
 * Accounts other than ours that can log in to this machine (regular uids with a login shell,
 * from /etc/passwd). Their programs can reach the daemon's loopback port too.
 */
export const otherLoginUsers = (passwd = "/etc/passwd", me = os.userInfo().uid): ReadonlyArray<string> => {
  let text: string
  try {
    text = fs.readFileSync(passwd, "utf8")
  } catch {
    return []
  }
  return text.split("\n").flatMap((line) => {
    const [name, , uid, , , , shell] = line.split(":")
    const id = Number(uid)
    const human = id === 0 || (id >= 1000 && id < 65534)
    return name && human && id !== me && shell !== undefined && !NO_LOGIN.test(shell.trim()) ? [name] : []
  })
}
