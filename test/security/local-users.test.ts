import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { otherLoginUsers } from "../../src/programs/cli/commands/LocalUsers.js"

describe("repowire doctor's look at who else can log in", () => {
  it("lists regular accounts with a login shell, never service accounts, nologin ones or ourselves", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rw-passwd-")), "passwd")
    fs.writeFileSync(
      file,
      [
        "root:x:0:0:root:/root:/bin/bash",
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
        "postgres:x:105:110::/var/lib/postgresql:/bin/bash",
        "me:x:1000:1000::/home/me:/bin/zsh",
        "ann:x:1001:1001::/home/ann:/bin/bash",
        "locked:x:1002:1002::/home/locked:/bin/false",
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
        ""
      ].join("\n")
    )
    assert.deepStrictEqual(otherLoginUsers(file, 1000), ["root", "ann"])
    assert.deepStrictEqual(otherLoginUsers(file, 0), ["me", "ann"])
    assert.deepStrictEqual(otherLoginUsers(path.join(file, "missing"), 0), [])
  })
})
