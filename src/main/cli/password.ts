import { createInterface } from 'node:readline'
import { CliError } from './output.js'

/** Reads all of stdin as text (for `--password-stdin` and `append … -`). */
export const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Prompts on the terminal without echoing what is typed. */
const prompt = (question: string): Promise<string> =>
  new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
    const out = rl as unknown as { _writeToOutput: (s: string) => void }
    let asked = false
    out._writeToOutput = (s: string) => {
      // Only the question is shown; the typed characters are not.
      if (!asked) process.stderr.write(s)
      asked = true
    }
    rl.question(question, (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer)
    })
  })

/**
 * A password: the first line of stdin with `fromStdin` (`--password-stdin`), else a prompt when
 * stdin is a terminal. Never from a flag (it would sit in the shell history and `ps`).
 */
export const readPassword = async (fromStdin: boolean, question: string): Promise<string> => {
  let password: string
  if (fromStdin) password = (await readStdin()).split(/\r?\n/)[0] ?? ''
  else if (process.stdin.isTTY === true) password = await prompt(question)
  else throw new CliError('no password: pass --password-stdin and pipe it in, or run on a terminal to be prompted', 2)
  if (password === '') throw new CliError('the password is empty', 2)
  return password
}
