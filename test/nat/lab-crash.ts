// Fixture for lab.test.ts: builds a lab, prints its id, then ends badly without calling destroy().
// Modes: exit (process.exit(3)), throw (uncaught exception), wait (until a signal arrives).
import { createLab } from './lab.js'

const mode = process.argv[2]
const lab = await createLab()
process.stdout.write(JSON.stringify({ event: 'ready', id: lab.id }) + '\n')
if (mode === 'exit') process.exit(3)
if (mode === 'throw')
  setTimeout(() => {
    throw new Error('crash on purpose')
  }, 10)
if (mode === 'wait') setInterval(() => {}, 1000)
