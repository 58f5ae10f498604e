import type { AgentBackend } from "../agent/Identity.js"

/**
 * What a hook prints on stdout, in each runtime's own format. Claude Code and Codex share
 * theirs; Gemini CLI names the blocking decision "deny" and its events differently.
 */
export const blockStop = (backend: AgentBackend, reason: string) =>
  backend === "gemini" ? { decision: "deny", reason } : { decision: "block", reason }

export const addContext = (backend: AgentBackend, event: "SessionStart" | "UserPromptSubmit", text: string) => ({
  hookSpecificOutput: {
    hookEventName: backend === "gemini" && event === "UserPromptSubmit" ? "BeforeAgent" : event,
    additionalContext: text
  }
})
